/**
 * The files a member of group mock names on the command line, read with
 * that member's rights (docs/security.md, "Group mock"), as Mock reads them
 * after its uid manager dropped privileges. When isomock runs as root for
 * another user (util/invoker.ts), each input file is copied, read as the
 * invoker (util/as-user.ts), into a fresh root-only staging directory under
 * its own base name, and the command runs on the copies: whatever the
 * invoker renames or links afterwards, root reads only bytes the invoker
 * could read. Directories the command reads in place (--isolated-build's
 * REPO) must be listable by the invoker; directories it writes
 * (isolated-repo's --output-repo, --chain's --localrepo, `image save`'s DIR)
 * are made and must be writable by the invoker; `image` takes no local
 * layout (dir:, oci-archive:) under sudo. Config files are read as the
 * invoker through loadConfig's readFile (util/as-user.ts textReaderAs); the
 * result directory is the session's (commands/chroot-session.ts). As root for
 * itself, isomock changes nothing.
 */
import { closeSync, fchmodSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import { copyFileAs, listAs, makeWritableDirAs, type UserEntry, type UserIds } from '../util/as-user.js';
import { invokerIds } from '../util/invoker.js';
import { recordPathFor } from '../lockfile/record.js';
import type { ParsedArgs } from './args.js';

export interface InvokerInputs {
  /** The command line with every input path replaced by its staged copy. */
  args: ParsedArgs;
  /** Removes the staged copies. */
  dispose(): void;
}

const kinds: Record<string, string> = {
  d: 'a directory',
  l: 'a symbolic link',
  N: 'a broken symbolic link',
  L: 'a symbolic link loop',
  p: 'a FIFO',
  s: 'a socket',
};
const notRegular = (path: string, type: string): IsomockError =>
  new IsomockError(`${path} is ${kinds[type] ?? 'a device'}, not a regular file: refused`, ExitCode.error);

/** Copies into a staging directory, each input in a numbered directory of its own. */
class Stage {
  private n = 0;
  constructor(
    private readonly user: UserIds,
    readonly dir: string,
  ) {}

  private slot(): string {
    const slot = join(this.dir, String(++this.n));
    mkdirSync(slot, { mode: 0o700 });
    return slot;
  }

  private copy(from: string, to: string, mode: number): void {
    const fd = openSync(to, 'wx', 0o600);
    try {
      copyFileAs(this.user, from, fd);
      fchmodSync(fd, mode & 0o777);
    } finally {
      closeSync(fd);
    }
  }

  /** A regular file (a link followed with the invoker's rights); its staged path (in `slot` when given). */
  file(path: string, slot = this.slot()): string {
    const [self] = listAs(this.user, path, 0, true);
    if (self?.type !== 'f') throw notRegular(path, self?.type ?? '?');
    const to = join(slot, basename(path));
    this.copy(path, to, self.mode);
    return to;
  }

  /** Like file(), or nothing when the invoker sees nothing there. */
  fileIfThere(path: string, slot?: string): string | undefined {
    try {
      return this.file(path, slot);
    } catch (err) {
      if (err instanceof IsomockError && /No such file or directory$/.test(err.message)) return undefined;
      throw err;
    }
  }

  /** --sources: one file, or a directory's files, not its subdirectories (links followed with the invoker's rights). */
  sources(path: string): string {
    const entries = listAs(this.user, path, 1, true);
    if (entries[0]?.type !== 'd') return this.file(path);
    const to = join(this.slot(), basename(path));
    mkdirSync(to, { mode: 0o700 });
    for (const e of entries.slice(1)) {
      if (e.type === 'd') continue;
      if (e.type !== 'f') throw notRegular(join(path, e.path), e.type);
      this.copy(join(path, e.path), join(to, e.path), e.mode);
    }
    return to;
  }

  /** --copyin's sources: a file, or a whole tree (links followed with the invoker's rights). */
  tree(path: string): string {
    const entries: UserEntry[] = listAs(this.user, path, Infinity, true);
    const to = join(this.slot(), basename(path));
    for (const e of entries) {
      const dest = e.path === '' ? to : join(to, e.path);
      if (e.type === 'd') mkdirSync(dest, { mode: e.mode & 0o777 });
      else if (e.type === 'f') this.copy(e.path === '' ? path : join(path, e.path), dest, e.mode);
      else throw notRegular(e.path === '' ? path : join(path, e.path), e.type);
    }
    return to;
  }
}

const isUrl = (s: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

/** The lockfile and, when the invoker has one, the isomock record beside it, staged side by side. */
function lockfileWithRecord(stage: Stage, lockfile: string): string {
  const staged = stage.file(lockfile);
  stage.fileIfThere(recordPathFor(lockfile), dirname(staged));
  return staged;
}

/** Stages the inputs of args (main options, or the isolated-repo subcommand's) for the invoker; see the header. */
export function invokerInputs(args: ParsedArgs, subcommand?: string): InvokerInputs {
  const user = invokerIds();
  if (!user) return { args, dispose: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'isomock-invoker-'));
  const dispose = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const stage = new Stage(user, dir);
    const options = new Map(args.options);
    let positionals = args.positionals;
    const replace = (key: string, fn: (v: string) => string): void => {
      const v = options.get(key);
      if (typeof v === 'string') options.set(key, fn(v));
      else if (Array.isArray(v)) options.set(key, (v as string[]).map(fn));
    };
    replace('gpgkey', (p) => stage.file(p));
    if (subcommand === 'isolated-repo' || subcommand === 'hermetic-repo') {
      replace('lockfile', (p) => lockfileWithRecord(stage, p));
      replace('isomock-record', (p) => stage.file(p));
      replace('ca-cert', (p) => stage.file(p));
      const certs = options.get('client-cert-for') as string[][] | undefined;
      if (certs)
        options.set(
          'client-cert-for',
          certs.map(([host, ...files]) => [host!, ...files.map((f) => stage.file(f))]),
        );
      const out = options.get('output-repo');
      if (typeof out === 'string') makeWritableDirAs(user, out, ExitCode.error);
    } else if (subcommand === 'image') {
      const [action, ref, dir] = positionals;
      // A local layout would be read as root where it lies: under sudo only registries are pulled from.
      if (ref !== undefined && /^(dir|oci-archive):/.test(ref))
        throw new IsomockError(`image ${action ?? ''}: ${ref}: a local image layout is not read under sudo`);
      if (action === 'save' && dir !== undefined) makeWritableDirAs(user, dir, ExitCode.error);
    } else {
      replace('spec', (p) => stage.file(p));
      replace('sources', (p) => stage.sources(p));
      const pair = options.get('isolated-build');
      if (Array.isArray(pair)) {
        const [lockfile, repo] = pair as string[];
        listAs(user, repo!, 1);
        options.set('isolated-build', [lockfileWithRecord(stage, lockfile!), repo!]);
      }
      // --chain's local repository is written: made and checked writable as the invoker, as a result dir.
      const localrepo = options.get('localrepo');
      if (typeof localrepo === 'string') makeWritableDirAs(user, localrepo, ExitCode.resultDir);
      const mode = args.mode ?? 'rebuild';
      if (['rebuild', 'chain', 'calculate-build-dependencies', 'isolated-build', 'installdeps'].includes(mode))
        positionals = positionals.map((p) => (isUrl(p) ? p : stage.file(p)));
      else if (mode === 'copyin')
        positionals = [...positionals.slice(0, -1).map((p) => stage.tree(p)), ...positionals.slice(-1)];
    }
    return { args: { ...args, options, positionals }, dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}
