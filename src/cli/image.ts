/**
 * `isomock image pull|inspect|save`: the bootstrap-image machinery on its own,
 * for preparing and checking images without a build.
 */
import { join } from 'node:path';
import { CommandLineError, ExitCode } from '../errors.js';
import { flag, str, type ParsedArgs } from './args.js';
import { imageMetadata } from '../image/inspect.js';
import { saveDir, saveOciArchive } from '../image/layouts.js';
import { formatReference } from '../image/reference.js';
import { getImage, imageContext } from '../image/source.js';

export async function imageCommand(args: ParsedArgs): Promise<number> {
  const [action, ref, dir, ...extra] = args.positionals;
  const wantDir = action === 'save';
  if (!action || !['pull', 'inspect', 'save'].includes(action))
    throw new CommandLineError(`image: unknown action '${action ?? ''}' (pull, inspect or save)`);
  if (!ref) throw new CommandLineError(`image ${action}: an image reference is needed`);
  if ((wantDir && !dir) || extra.length > 0 || (!wantDir && dir))
    throw new CommandLineError(`image ${action}: wrong number of arguments`);
  const format = str(args, 'format') ?? 'dir';
  if (format !== 'dir' && format !== 'oci-archive')
    throw new CommandLineError(`image save: unknown --format '${format}' (dir or oci-archive)`);
  const arch = str(args, 'arch');
  const ctx = imageContext(arch !== undefined ? { arch } : {});
  const image = await getImage(ctx, ref, action !== 'inspect');
  const quiet = flag(args, 'quiet');
  if (action === 'inspect') {
    const meta = imageMetadata(image);
    if (flag(args, 'json')) {
      process.stdout.write(
        `${JSON.stringify({ name: formatReference(image.ref), ...meta, os: image.config.os ?? '', layers: image.manifest.layers.map((l) => l.digest) }, null, 2)}\n`,
      );
    } else {
      for (const [k, v] of Object.entries(meta)) process.stdout.write(`${k}: ${v}\n`);
    }
  } else if (action === 'pull') {
    if (!quiet) process.stdout.write(`${image.manifestDigest}\n`);
  } else if (format === 'dir') {
    // The user's directory: copies (or reflinks), never the store's own inodes.
    const out = await saveDir(ctx.store, image, dir!, false);
    if (!quiet) process.stdout.write(`${out}\n`);
  } else {
    const out = join(dir!, 'bootstrap.tar');
    await saveOciArchive(ctx.store, image, out);
    if (!quiet) process.stdout.write(`${out}\n`);
  }
  return ExitCode.ok;
}
