/**
 * The bootstrap tree: the target distribution's own package manager and rpm,
 * from a container image. Each image is unpacked once, into a cache keyed by
 * its config digest, renamed into place only when whole, and then shared
 * read-only by every build (as an overlay's lower layer), instead of being
 * copied out for each build as Mock does.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import { imageMetadata } from '../image/inspect.js';
import { hostRpmArch, ociPlatform } from '../image/platform.js';
import { getImage, imageContext } from '../image/source.js';
import { unpackImage } from '../image/unpack.js';
import type { LockedBootstrap } from '../lockfile/lockfile.js';
import type { BootstrapTree } from './buildroot.js';
import type { BuildConfig } from './build-config.js';
import type { BuildLogs } from './logs.js';
import { InterruptedError, run } from './process.js';
import { errorLine } from '../util/error-line.js';
import { privateDir, SafeRoot } from '../util/safe-fs.js';

export interface PreparedBootstrap {
  tree: BootstrapTree;
  /** What the lockfile records about the image. */
  lock: Required<LockedBootstrap>;
}

export interface BootstrapRequest {
  /** A registry reference, or `dir:PATH` / `oci-archive:PATH`. */
  image: string;
  targetArch: string;
  /** bootstrap_image_assert_digest: the image_digest the image must have. */
  assertDigest?: string;
  cacheTopdir: string;
  logs: BuildLogs;
  /**
   * Mock's bootstrap_image_fallback: when the image cannot be had (the pull,
   * not a failed digest or arch check), build without it - isomock makes no
   * bootstrap chroot, so the host's package manager installs the buildroot.
   */
  fallback?: boolean;
}

const marker = '.isomock-unpacked';

/**
 * A fingerprint of an unpacked tree's metadata: every path with its type,
 * mode, owner, size, mtime and link target (find(1) lists 17,000 entries in
 * about 0.06 s; a walk in Node takes 0.27 s). Taken right after unpacking and
 * checked before each reuse, so a cached bootstrap that anything has changed
 * since (builds never write to it: it is an overlay's lower layer) is
 * unpacked again rather than trusted.
 */
async function treeFingerprint(root: string): Promise<string> {
  const format = '%P\\0%y\\0%m\\0%U\\0%G\\0%s\\0%T@\\0%l\\n';
  const { code, stdout } = await run(['/usr/bin/find', root, '-mindepth', '1', '-printf', format], {
    env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' },
    capture: true,
  });
  if (code !== 0)
    throw new IsomockError(`cannot list the bootstrap tree ${root} (find exit ${code})`, ExitCode.bootstrap);
  return createHash('sha256').update(stdout.split('\n').sort().join('\n')).digest('hex');
}

interface UnpackRecord {
  image_digest: string;
  fingerprint: string;
}

function readRecord(dir: string): UnpackRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, marker), 'utf8')) as UnpackRecord;
  } catch {
    return undefined;
  }
}

/** Whether dir holds a tree unpacked from the image with this digest, unchanged since. */
async function intactTree(dir: string, imageDigest: string): Promise<boolean> {
  const record = readRecord(dir);
  return (
    record?.image_digest === imageDigest &&
    existsSync(join(dir, 'root')) &&
    record.fingerprint === (await treeFingerprint(join(dir, 'root')))
  );
}

/** The tree, or undefined when the image could not be had and req.fallback allows going on without it. */
export async function prepareBootstrap(req: BootstrapRequest): Promise<PreparedBootstrap | undefined> {
  const ctx = imageContext({ arch: req.targetArch });
  req.logs.info(`Using container image: ${req.image}`);
  let image: Awaited<ReturnType<typeof getImage>>;
  try {
    image = await getImage(ctx, req.image, true);
  } catch (err) {
    if (!req.fallback || err instanceof InterruptedError) throw err;
    req.logs.warning(
      `Can't initialize from container image ${req.image}, falling back to the host's package manager (bootstrap_image_fallback): ${errorLine(err).message}`,
    );
    return undefined;
  }
  const meta = imageMetadata(image);
  if (req.assertDigest && meta.image_digest !== req.assertDigest) {
    throw new IsomockError(
      `Expected digest for image ${req.image} is ${req.assertDigest}, but ${meta.image_digest} found`,
      ExitCode.bootstrap,
    );
  }
  const host = ociPlatform(hostRpmArch());
  if (image.config.architecture !== host.architecture || (image.config.os ?? 'linux') !== host.os) {
    throw new IsomockError(
      `bootstrap image ${req.image} is ${image.config.os}/${image.config.architecture}; this host runs ${host.os}/${host.architecture}`,
      ExitCode.bootstrap,
    );
  }
  // Root only: the unpacked trees hold setuid binaries, which no other user may reach.
  const dir = join(privateDir(join(req.cacheTopdir, 'isomock-bootstrap'), ExitCode.bootstrap), meta.id);
  const root = join(dir, 'root');
  const record = readRecord(dir);
  if (await intactTree(dir, meta.image_digest)) {
    req.logs.info(`reusing the unpacked bootstrap ${meta.id.slice(0, 12)} (${root}), its tree checked unchanged`);
  } else {
    if (record) req.logs.info(`the unpacked bootstrap in ${dir} changed since it was unpacked: unpacking it again`);
    await req.logs.step('unpacking the bootstrap image', async () => {
      const tmp = `${dir}.partial-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(join(tmp, 'root'), { recursive: true });
      // A refused layer leaves no half-unpacked tree behind.
      const stats = await unpackImage(ctx.store, image, join(tmp, 'root')).catch((err: unknown) => {
        rmSync(tmp, { recursive: true, force: true });
        throw err;
      });
      // As Mock does: the image's language macros would leak into every build.
      new SafeRoot(join(tmp, 'root'), ExitCode.bootstrap, 'the bootstrap tree').remove(
        'etc/rpm/macros.image-language-conf',
      );
      const unpacked: UnpackRecord = {
        image_digest: meta.image_digest,
        fingerprint: await treeFingerprint(join(tmp, 'root')),
      };
      writeFileSync(join(tmp, marker), JSON.stringify(unpacked) + '\n');
      // Parallel builds (--uniqueext) may unpack the same image at once: the
      // first complete tree wins and the others drop theirs. A changed tree
      // is moved aside first, so a rename never lands on half a directory.
      if (await intactTree(dir, meta.image_digest)) {
        rmSync(tmp, { recursive: true, force: true });
        return;
      }
      if (existsSync(dir)) {
        const aside = `${dir}.stale-${process.pid}`;
        renameSync(dir, aside);
        rmSync(aside, { recursive: true, force: true });
      }
      try {
        renameSync(tmp, dir);
      } catch (err) {
        if (!['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
        rmSync(tmp, { recursive: true, force: true }); // another build renamed its tree in first
      }
      req.logs.debug(`unpacked ${JSON.stringify(stats)}`);
    });
  }
  return { tree: { lower: root }, lock: meta };
}

/** The bootstrap for an online build, as the config asks for it (undefined: the host's package manager). */
export function onlineBootstrap(
  config: BuildConfig,
): ((logs: BuildLogs) => Promise<PreparedBootstrap | undefined>) | undefined {
  if (!config.useBootstrap || !config.useBootstrapImage) return undefined;
  return (logs) => {
    if (!config.bootstrapImageReady) {
      logs.info(
        `bootstrap_image_ready is False: isomock uses ${config.bootstrapImage} as it is (it must hold the package manager)`,
      );
    }
    return prepareBootstrap({
      image: config.bootstrapImage,
      targetArch: config.targetArch,
      assertDigest: config.bootstrapImageAssertDigest ?? undefined,
      cacheTopdir: config.cacheTopdir,
      logs,
      fallback: config.bootstrapImageFallback,
    });
  };
}
