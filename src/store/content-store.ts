/**
 * The content-addressed store: RPMs and image blobs kept once under
 * `<root>/sha256/<hex>`, whatever lockfile, config or output repository
 * wants them. Its contract:
 * - root's alone: the directory (and each of its own) is checked on every
 *   open to be a directory itself (not a link) and owned by the effective
 *   user, and made 0700; a store made by anyone else is refused, never taken
 *   over;
 * - entries are read-only (0444) files of the store's owner, entered only
 *   after their SHA-256 was computed from the bytes being entered (staged in
 *   `<root>/tmp/`, renamed into place), and checked again on every use by the
 *   caller through `openEntry`'s descriptor (one read serves check and use);
 *   anything else under an entry's name (a planted link, someone's file, a
 *   writable mode, changed bytes) is removed and reported as absent, so the
 *   caller fetches it again;
 * - `<root>/used/<hex>` records each entry's last use (its mtime) on an inode
 *   of its own, so that recording a use never changes the entry's ctime (an
 *   output repository trusts its hard-linked files by that identity);
 * - `<root>/index/<kind>/<key>` names an entry by another key (an RPM's
 *   SIGMD5), as a hint only: the entry is verified on use against what the
 *   caller expects;
 * - a size bound: `collect()` removes least recently used entries until the
 *   store is within it, sparing those used in the last `spareMs`.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { ExitCode, IsomockError, type ExitCodeValue } from '../errors.js';
import { lstatOrUndefined } from '../util/no-follow.js';

const { O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK, O_RDONLY } = constants;

const defaultStoreDir = '/var/cache/isomock/store';
/** 32 GiB: room for a few distributions' buildroots and their bootstrap images. */
export const defaultStoreBound = 32 * 1024 ** 3;

const hexPattern = /^[0-9a-f]{64}$/;
const keyPattern = /^[0-9A-Za-z._-]{1,128}$/;
const entryMode = 0o444;

/** The store's place: ISOMOCK_STORE (ISOMOCK_IMAGE_STORE, its older name, for image-only callers), else the default. */
export function storeLocation(): string {
  return process.env.ISOMOCK_STORE ?? process.env.ISOMOCK_IMAGE_STORE ?? defaultStoreDir;
}

/** Why an entry's lstat does not show a store entry, or undefined when it does. */
function notAnEntry(st: Stats): string | undefined {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (!st.isFile()) return 'not a regular file';
  if (st.uid !== process.geteuid!()) return `owned by uid ${st.uid}`;
  if ((st.mode & 0o7777) !== entryMode) return `mode ${(st.mode & 0o7777).toString(8)}, not 444`;
  return undefined;
}

/** An entry opened for its use: read it through fd, then call check() with the digest of what was read. */
export interface OpenEntry {
  fd: number;
  size: number;
  path: string;
  /** Removes the entry when the bytes read do not hash to its name; true when they do. */
  check: (sha256Hex: string) => boolean;
  close: () => void;
}

export class ContentStore {
  private constructor(
    readonly root: string,
    private readonly exitCode: ExitCodeValue,
    /** Called with one line when an entry is found damaged or planted and dropped. */
    private readonly onNotice: (line: string) => void,
  ) {}

  /**
   * The store at root, created 0700 when absent; refused (one line, exitCode)
   * when it is a link, not a directory, or not the effective user's alone.
   */
  static open(
    root = storeLocation(),
    exitCode: ExitCodeValue = ExitCode.error,
    onNotice: (line: string) => void = () => undefined,
  ): ContentStore {
    const store = new ContentStore(root, exitCode, onNotice);
    for (const dir of [root, ...['sha256', 'tmp', 'used', 'index'].map((sub) => join(root, sub))]) store.checkDir(dir);
    return store;
  }

  /**
   * A directory of the store, created 0700 when absent. Refused when it is a
   * link, not a directory or someone else's; closed (chmod 0700 through its
   * descriptor) when it is ours but open to others: whatever another user
   * could have put in it meanwhile is not an entry (notAnEntry) and goes.
   */
  private checkDir(dir: string): void {
    const refuse = (why: string): IsomockError => new IsomockError(`store ${dir} is refused: ${why}`, this.exitCode);
    let fd: number;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      fd = openSync(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (err) {
      // O_NOFOLLOW with O_DIRECTORY fails a link with ENOTDIR, not ELOOP: lstat tells which.
      throw refuse(lstatOrUndefined(dir)?.isSymbolicLink() ? 'it is a symbolic link' : (err as Error).message);
    }
    try {
      const st = fstatSync(fd);
      if (st.uid !== process.geteuid!()) throw refuse(`owned by uid ${st.uid}, not ${process.geteuid!()}`);
      if ((st.mode & 0o7777) !== 0o700) fchmodSync(fd, 0o700);
    } finally {
      closeSync(fd);
    }
  }

  entryPath(hex: string): string {
    if (!hexPattern.test(hex)) throw new IsomockError(`not a SHA-256: ${hex}`, this.exitCode);
    return join(this.root, 'sha256', hex);
  }

  /** Drops whatever is at an entry's name (unlink never follows a link) and says so. */
  discard(hex: string, why: string): void {
    rmSync(this.entryPath(hex), { force: true });
    this.onNotice(`store entry sha256:${hex} was ${why}: removed, it is fetched again`);
  }

  /** The entry's lstat when an entry is there; anything else there is dropped. */
  stat(hex: string): Stats | undefined {
    const st = lstatOrUndefined(this.entryPath(hex));
    if (!st) return undefined;
    const why = notAnEntry(st);
    if (why) {
      this.discard(hex, why);
      return undefined;
    }
    return st;
  }

  /**
   * Opens an entry for one use, or undefined when there is none (or what was
   * there was not an entry). The caller reads fd and passes the digest of what
   * it read to check(); the use counts only when check() returns true.
   */
  openEntry(hex: string): OpenEntry | undefined {
    const path = this.entryPath(hex);
    const before = this.stat(hex);
    if (!before) return undefined;
    const fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    const st = fstatSync(fd);
    if (st.ino !== before.ino || st.dev !== before.dev || notAnEntry(st)) {
      closeSync(fd);
      this.discard(hex, 'replaced while being opened');
      return undefined;
    }
    return {
      fd,
      size: st.size,
      path,
      check: (got) => {
        if (got === hex) {
          this.touch(hex);
          return true;
        }
        this.discard(hex, `changed (its bytes hash to ${got})`);
        return false;
      },
      close: () => closeSync(fd),
    };
  }

  /** Records a use of the entry (the LRU clock of collect()). */
  touch(hex: string): void {
    const marker = join(this.root, 'used', hex);
    const now = new Date();
    try {
      utimesSync(marker, now, now);
    } catch {
      writeFileSync(marker, '', { mode: 0o600 });
    }
  }

  /** A fresh path in the store's staging directory, for a file about to enter. */
  stagingPath(): string {
    return join(this.root, 'tmp', randomBytes(8).toString('hex'));
  }

  /**
   * Enters the staged file at tmp, whose bytes the caller just read and found
   * to hash to hex: made 0444 through its descriptor and renamed into place
   * (an entry already there stays, and tmp goes). Returns the entry's path.
   */
  commit(tmp: string, hex: string): string {
    const dest = this.entryPath(hex);
    try {
      const fd = openSync(tmp, O_RDONLY | O_NOFOLLOW);
      try {
        fchmodSync(fd, entryMode);
      } finally {
        closeSync(fd);
      }
      if (this.stat(hex)) unlinkSync(tmp);
      else renameSync(tmp, dest);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new IsomockError(
        `cannot enter sha256:${hex} into the store ${this.root}: ${(err as Error).message}`,
        this.exitCode,
      );
    }
    this.touch(hex);
    return dest;
  }

  /** Enters small in-memory content (hashed here). Returns its SHA-256. */
  commitBytes(bytes: Buffer): string {
    const hex = createHash('sha256').update(bytes).digest('hex');
    if (this.stat(hex)) return hex;
    const tmp = this.stagingPath();
    writeFileSync(tmp, bytes, { mode: 0o600, flag: 'wx' });
    this.commit(tmp, hex);
    return hex;
  }

  /** The entry another key names (e.g. `rpm`, a SIGMD5), when the index has it. */
  lookup(kind: string, key: string): string | undefined {
    if (!keyPattern.test(kind) || !keyPattern.test(key)) return undefined;
    try {
      const hex = readFileSync(join(this.root, 'index', kind, key), 'utf8');
      return hexPattern.test(hex) ? hex : undefined;
    } catch {
      return undefined;
    }
  }

  /** Names entry hex by `kind`/`key` too (written beside and renamed: never half-written). */
  remember(kind: string, key: string, hex: string): void {
    if (!keyPattern.test(kind) || !keyPattern.test(key) || !hexPattern.test(hex)) return;
    const dir = join(this.root, 'index', kind);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = this.stagingPath();
    writeFileSync(tmp, hex, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, join(dir, key));
  }

  /** Hard-links the entry at dest (which must not exist); false when another file system or the kernel refuses. */
  linkTo(hex: string, dest: string): boolean {
    try {
      linkSync(this.entryPath(hex), dest);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EXDEV' || code === 'EPERM' || code === 'EMLINK') return false;
      throw err;
    }
  }

  /** Bytes held by entries. */
  size(): number {
    let total = 0;
    for (const name of readdirSync(join(this.root, 'sha256')))
      total += lstatOrUndefined(join(this.root, 'sha256', name))?.size ?? 0;
    return total;
  }

  /**
   * Garbage collection: least recently used entries go until the entries
   * hold at most `bound` bytes; entries used in the last spareMs stay
   * whatever the bound (the run that used them may still link them). Staging
   * files older than a day are an interrupted run's and go too. Returns the
   * bytes freed. Removing an entry leaves its hard links in output
   * repositories alone: they are those repositories' files.
   */
  collect(bound = defaultStoreBound, spareMs = 3_600_000): number {
    const now = Date.now();
    for (const name of readdirSync(join(this.root, 'tmp'))) {
      const st = lstatOrUndefined(join(this.root, 'tmp', name));
      if (st && now - st.mtimeMs > 86_400_000) rmSync(join(this.root, 'tmp', name), { force: true });
    }
    const entries = readdirSync(join(this.root, 'sha256')).flatMap((hex) => {
      const st = lstatOrUndefined(join(this.root, 'sha256', hex));
      if (!st) return [];
      const used = lstatOrUndefined(join(this.root, 'used', hex))?.mtimeMs ?? st.mtimeMs;
      return [{ hex, size: st.size, used }];
    });
    let total = entries.reduce((n, e) => n + e.size, 0);
    let freed = 0;
    for (const e of entries.sort((a, b) => a.used - b.used)) {
      if (total <= bound) break;
      if (now - e.used < spareMs) continue;
      rmSync(join(this.root, 'sha256', e.hex), { force: true });
      rmSync(join(this.root, 'used', e.hex), { force: true });
      total -= e.size;
      freed += e.size;
    }
    return freed;
  }
}

/** `--scrub=store`: the whole store goes (never through a link: rmSync does not follow one). */
export function removeStore(root = storeLocation()): void {
  const st = lstatOrUndefined(root);
  if (!st) return;
  if (!st.isDirectory()) throw new IsomockError(`store ${root} is not a directory: left alone`, ExitCode.error);
  ContentStore.open(root);
  rmSync(root, { recursive: true, force: true });
}
