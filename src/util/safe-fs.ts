/**
 * File operations inside a root directory that never follow a symlink: THE
 * helper for every host-side operation (as root) on a path under a buildroot,
 * a bootstrap tree or a result directory, where a package, the build user or
 * a co-user may have planted links.
 *
 * Contract. The root itself is trusted: its path comes from isomock's config
 * or command line and is resolved once (realpath); nothing below it is. A
 * path inside is walked one component at a time with lstat: `..` and NUL are
 * refused, a leading '/' means the root (paths inside a buildroot are
 * written absolute); every parent must be a real directory; the last component
 * must be a regular file or a directory (symlinks, devices, FIFOs and sockets
 * are refused, never opened). Files are opened O_NOFOLLOW|O_NONBLOCK and
 * checked again with fstat; writes go to a fresh O_EXCL name in the same
 * directory, renamed over the target (a rename replaces a planted link, it
 * never follows it). Removal never crosses a symlink or a mount point (st_dev).
 *
 * Node has no openat(2), so a walk with lstat and then a path operation races
 * a live writer that swaps a parent for a link in between. Callers therefore
 * use this only while no process of the build is alive in that root (every
 * sandboxed command runs in its own PID namespace, and the kernel has killed
 * and reaped all of it when the command's result arrives) and no one else
 * can write it; work that has to happen while the build runs is done inside
 * the sandbox as the build user instead. A direct child of the root (one
 * component: a result dir's files) is safe even against a live writer, as
 * O_NOFOLLOW, O_EXCL and rename act on that last component alone.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  realpathSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { ExitCode, IsomockError, type ExitCodeValue } from '../errors.js';
import { lstatOrUndefined, openRegularFile } from './no-follow.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;

export type EntryKind = 'file' | 'dir';

export interface Entry {
  /** Path relative to the listed directory ('/'-separated). */
  path: string;
  kind: EntryKind;
}

function kindOf(st: Stats): EntryKind | string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'a device';
}

export interface CopyOptions {
  /** uid and gid of the new file (root's otherwise). */
  owner?: [number, number];
  mode?: number;
  /** copyIn: refuse a source that is not itself a regular file (a planted symlink), as open-regular.ts does. */
  noFollow?: boolean;
}

/**
 * Creates (mkdir -p) a trusted host directory that only its owner, the
 * caller's user (root for a build), may enter: 0700, owned by the caller, and
 * a real directory, not a link. For caches holding unpacked trees (setuid
 * binaries included) or image layers that no other user may reach.
 */
export function privateDir(path: string, exitCode: ExitCodeValue = ExitCode.error): string {
  let fd: number | undefined;
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_DIRECTORY);
    const st = fstatSync(fd);
    const [uid, gid] = [process.geteuid?.() ?? 0, process.getegid?.() ?? 0];
    if (st.uid !== uid || st.gid !== gid) fchownSync(fd, uid, gid);
    if ((st.mode & 0o7777) !== 0o700) fchmodSync(fd, 0o700);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ELOOP' ? 'it is a symlink' : (err as Error).message;
    throw new IsomockError(`cannot make ${path} a private directory: ${why}`, exitCode);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return path;
}

/** A trusted directory and the operations inside it. */
export class SafeRoot {
  private readonly dev: number;
  /** The root's resolved path. */
  readonly root: string;

  /**
   * `root` (trusted, resolved here) must be a directory. Failures carry
   * `exitCode`, and name `what` (e.g. "the buildroot").
   */
  constructor(
    root: string,
    private readonly exitCode: ExitCodeValue = ExitCode.error,
    private readonly what = root,
    /** uid and gid given to every file and directory created here (the result dir under sudo: Mock's chrootuid/gid). */
    private readonly owner?: [number, number],
  ) {
    let st: Stats;
    try {
      this.root = realpathSync(root);
      st = lstatSync(this.root);
    } catch (err) {
      throw new IsomockError(`cannot use ${root}: ${(err as NodeJS.ErrnoException).code}`, exitCode);
    }
    if (!st.isDirectory()) throw this.refuse('', 'is not a directory');
    this.dev = st.dev;
  }

  private refuse(rel: string, why: string): IsomockError {
    const where = rel === '' ? this.root : `'${rel}' in ${this.what}`;
    return new IsomockError(`refusing ${where}: ${why}`, this.exitCode);
  }

  /** The components of a path inside the root; '..' and NUL are refused. */
  parts(rel: string): string[] {
    if (rel.includes('\0')) throw this.refuse(rel.replace(/\0/g, '\\0'), 'holds a NUL byte');
    const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw this.refuse(rel, "holds '..'");
    return parts;
  }

  /**
   * Host path of a path inside, its parents checked to be real directories
   * (the last component is not checked); a missing parent is made when
   * `createParents`, else reported as `missing` (so nothing is there).
   */
  private walk(rel: string, createParents = false): { abs: string; parts: string[]; missing: boolean } {
    const parts = this.parts(rel);
    let abs = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      abs = join(abs, parts[i]!);
      const st = lstatOrUndefined(abs);
      if (!st && createParents) this.makeDir(abs, 0o755);
      else if (!st) return { abs: join(this.root, ...parts), parts, missing: true };
      else if (!st.isDirectory()) throw this.refuse(rel, `'${parts.slice(0, i + 1).join('/')}' is ${kindOf(st)}`);
    }
    return { abs: parts.length ? join(abs, parts[parts.length - 1]!) : abs, parts, missing: false };
  }

  /** The host path of `rel`, if it is a regular file or directory (undefined if absent). */
  lookup(rel: string): { abs: string; kind: EntryKind } | undefined {
    const { abs, missing } = this.walk(rel);
    const st = missing ? undefined : lstatOrUndefined(abs);
    if (!st) return undefined;
    const kind = kindOf(st);
    if (kind !== 'file' && kind !== 'dir') throw this.refuse(rel, `is ${kind}`);
    return { abs, kind };
  }

  /** Host path of `rel`, which must be a real directory. */
  dir(rel: string): string {
    const found = this.lookup(rel);
    if (found?.kind !== 'dir') throw this.refuse(rel, found ? 'is not a directory' : 'does not exist');
    return found.abs;
  }

  /** A new directory, given to the owner (through its own O_NOFOLLOW descriptor). */
  private makeDir(abs: string, mode: number): void {
    mkdirSync(abs, { mode });
    if (!this.owner) return;
    const fd = openSync(abs, O_RDONLY | O_NOFOLLOW | O_DIRECTORY);
    try {
      fchownSync(fd, ...this.owner);
    } finally {
      closeSync(fd);
    }
  }

  /** mkdir -p that refuses to pass through anything but real directories; returns the host path. */
  mkdirs(rel: string, mode = 0o755): string {
    const { abs } = this.walk(rel, true);
    const st = lstatOrUndefined(abs);
    if (!st) this.makeDir(abs, mode);
    else if (!st.isDirectory()) throw this.refuse(rel, `is ${kindOf(st)}`);
    return abs;
  }

  /** Opens `rel` (a regular file, or with `dir` a directory) without following a link; the fd. */
  private openExisting(rel: string, dir = false): number {
    const found = this.lookup(rel);
    if (!found) throw this.refuse(rel, 'does not exist');
    let fd: number;
    try {
      fd = openSync(found.abs, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | (dir ? O_DIRECTORY : 0));
    } catch (err) {
      throw this.refuse(rel, `cannot open it: ${(err as NodeJS.ErrnoException).code}`);
    }
    const st = fstatSync(fd);
    if (dir ? !st.isDirectory() : !st.isFile()) {
      closeSync(fd);
      throw this.refuse(rel, `is not a ${dir ? 'directory' : 'regular file'}`);
    }
    return fd;
  }

  /** Runs fn on an O_NOFOLLOW descriptor of `rel` (a file or directory, whichever it is). */
  private withFd<T>(rel: string, fn: (fd: number) => T): T {
    const fd = this.openExisting(rel, this.lookup(rel)?.kind === 'dir');
    try {
      return fn(fd);
    } finally {
      closeSync(fd);
    }
  }

  chown(rel: string, uid: number, gid: number): void {
    this.withFd(rel, (fd) => fchownSync(fd, uid, gid));
  }

  chmod(rel: string, mode: number): void {
    this.withFd(rel, (fd) => fchmodSync(fd, mode));
  }

  /** Content of a regular file, or undefined when there is none. */
  readFile(rel: string): Buffer | undefined {
    if (!this.lookup(rel)) return undefined;
    return this.withFd(rel, (fd) => {
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(64 * 1024);
      for (let n; (n = readSync(fd, buf)) > 0;) chunks.push(Buffer.from(buf.subarray(0, n)));
      return Buffer.concat(chunks);
    });
  }

  /**
   * Writes a fresh file at `rel` (parents created as real directories): a new
   * O_EXCL name in the same directory, renamed over whatever link or file was there.
   */
  writeFile(rel: string, content: string | Buffer, options: CopyOptions = {}): void {
    this.replaceWith(rel, (fd) => {
      const data = typeof content === 'string' ? Buffer.from(content) : content;
      for (let off = 0; off < data.length;) off += writeSync(fd, data, off);
      const owner = options.owner ?? this.owner;
      if (owner) fchownSync(fd, ...owner);
      fchmodSync(fd, options.mode ?? 0o644);
    });
  }

  /** Creates `rel` by fill(fd) under a temporary name, then renames it into place. */
  private replaceWith(rel: string, fill: (fd: number) => void): string {
    const { abs, parts } = this.walk(rel, true);
    if (parts.length === 0) throw this.refuse(rel, 'is the root itself');
    if (lstatOrUndefined(abs)?.isDirectory()) throw this.refuse(rel, 'is a directory');
    const tmp = join(dirname(abs), `.${basename(abs)}.${randomBytes(6).toString('hex')}.isomock-tmp`);
    const fd = openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      fill(fd);
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, abs);
    } catch (err) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
      unlinkSync(tmp);
      // A refusal already names its cause; a system error (ENOSPC, EIO) gets the root's exit code.
      if (err instanceof IsomockError) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new IsomockError(`cannot write ${rel} in ${this.what}: ${e.code ?? e.message}`, this.exitCode);
    }
    return abs;
  }

  /**
   * Copies the regular file `fromRel` of `from` to `rel` here (atomically, see
   * writeFile), read from an O_NOFOLLOW descriptor; returns the new host path.
   */
  copyFrom(from: SafeRoot, fromRel: string, rel: string, options: CopyOptions = {}): string {
    return this.copyFd(from.openExisting(fromRel), rel, options);
  }

  /** Copies a host file that the caller vouches for (e.g. named on the command line) to `rel`. */
  copyIn(hostPath: string, rel: string, options: CopyOptions = {}): string {
    if (options.noFollow) return this.copyFd(openRegularFile(hostPath).fd, rel, options);
    const fd = openSync(hostPath, O_RDONLY | O_NONBLOCK);
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw new IsomockError(`${hostPath} is not a regular file`, this.exitCode);
    }
    return this.copyFd(fd, rel, options);
  }

  /** Copies from `src` (closed afterwards) to a fresh file at `rel`; the mode is the source's unless given. */
  private copyFd(src: number, rel: string, options: CopyOptions): string {
    try {
      return this.replaceWith(rel, (fd) => {
        const buf = Buffer.alloc(1024 * 1024);
        for (let n; (n = readSync(src, buf)) > 0;) {
          for (let off = 0; off < n;) off += writeSync(fd, buf, off, n - off);
        }
        const owner = options.owner ?? this.owner;
        if (owner) fchownSync(fd, ...owner);
        fchmodSync(fd, options.mode ?? fstatSync(src).mode & 0o777);
      });
    } finally {
      closeSync(src);
    }
  }

  /**
   * Opens a regular file for appending (created 0644 if absent) without
   * following a link: for logs in a directory other users may write.
   */
  openAppend(rel: string): number {
    const { abs, missing } = this.walk(rel);
    if (missing) throw this.refuse(rel, 'its directory does not exist');
    const st = lstatOrUndefined(abs);
    if (st && !st.isFile()) throw this.refuse(rel, `is ${kindOf(st)}`);
    const flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK;
    let fd: number;
    let created = true;
    try {
      try {
        fd = openSync(abs, flags | O_CREAT | O_EXCL, 0o644);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        created = false;
        fd = openSync(abs, flags);
      }
    } catch (err) {
      throw this.refuse(rel, `cannot open it: ${(err as NodeJS.ErrnoException).code}`);
    }
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw this.refuse(rel, 'is not a regular file');
    }
    // Only a file made here is given away, never one that was there.
    if (created && this.owner) fchownSync(fd, ...this.owner);
    return fd;
  }

  /** Names in the real directory `rel`, whatever they are (for removal). */
  names(rel: string): string[] {
    return readdirSync(this.dir(rel)).sort();
  }

  /**
   * The regular files and directories below the directory `rel` (recursively
   * if asked, never through a link), sorted; anything else is refused.
   */
  list(rel: string, options: { recursive?: boolean } = {}): Entry[] {
    const out: Entry[] = [];
    const visit = (dirRel: string, prefix: string): void => {
      const abs = this.dir(dirRel);
      for (const name of readdirSync(abs).sort()) {
        const st = lstatSync(join(abs, name));
        const kind = kindOf(st);
        const path = prefix + name;
        if (kind !== 'file' && kind !== 'dir') throw this.refuse(`${dirRel}/${name}`, `is ${kind}`);
        out.push({ path, kind });
        if (kind === 'dir' && options.recursive) visit(`${dirRel}/${name}`, `${path}/`);
      }
    };
    visit(rel, '');
    return out;
  }

  /**
   * Removes `rel` and everything below it (no error if absent): links are
   * unlinked, never followed; a directory on another device (a mount point)
   * is refused before anything below it is touched. `rel` '' empties the root.
   */
  remove(rel: string): void {
    const { abs, parts, missing } = this.walk(rel);
    const st = missing ? undefined : lstatOrUndefined(abs);
    if (!st) return;
    if (!st.isDirectory()) {
      if (parts.length === 0) throw this.refuse(rel, `is ${kindOf(st)}`);
      unlinkSync(abs);
      return;
    }
    this.removeDir(abs, st, rel);
    if (parts.length > 0) rmdirSync(abs);
  }

  private removeDir(abs: string, st: Stats, rel: string): void {
    if (st.dev !== this.dev) throw this.refuse(rel, 'is a mount point (another file system)');
    for (const name of readdirSync(abs)) {
      const child = join(abs, name);
      const cst = lstatSync(child);
      if (cst.isDirectory()) {
        this.removeDir(child, cst, `${rel}/${name}`);
        rmdirSync(child);
      } else unlinkSync(child);
    }
  }
}
