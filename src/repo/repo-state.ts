/**
 * isomock's record of an offline repository it made (`.isomock-state.json`):
 * for each RPM it verified, the identity of the file it verified (size,
 * mtime, ctime, inode) so that a later run can trust an unchanged file
 * without reading it again; and a fingerprint of the RPMs the repodata was
 * generated from, so an unchanged repository is not re-indexed. Changing a
 * file changes its ctime, which no user can set back, so a match means the
 * bytes are the ones verified (a sealed file, root's and read-only, is the
 * exception: see sealed()). A missing or unreadable state just means
 * "verify everything". Others may write the directory: nothing here follows a
 * symlink (identities are lstat's, the state is read O_NOFOLLOW), and the
 * state is written to a fresh O_EXCL temp file that a failure (a full disk)
 * removes again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, lstatSync, readdirSync, renameSync, writeSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import { createExclusive, readRegular, removeOwn } from '../util/no-follow.js';

const stateFileName = '.isomock-state.json';

export interface FileRecord {
  sigmd5: string;
  /** The SHA-256 it was checked against (isomock's lock record), when there was one. */
  sha256?: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

export interface RepoState {
  version: 1;
  /** By file name in the repository directory. */
  files: Record<string, FileRecord>;
  /** What the current repodata was generated from (see repodataFingerprint). */
  repodata?: string;
}

/**
 * A root-owned file without write bits (a store entry hard-linked here, or a
 * copy of one) can be changed, chmod'ed or chown'ed by root alone; its ctime
 * also moves whenever another repository links the same entry, so for such a
 * file the ctime is left out of its identity (0) and root's own tools, which
 * move the mtime when they write, are what remains to catch.
 */
function sealed(st: Stats): boolean {
  return process.geteuid?.() === 0 && st.uid === 0 && (st.mode & 0o222) === 0;
}

function identity(st: Stats): Omit<FileRecord, 'sigmd5'> {
  return { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: sealed(st) ? 0 : st.ctimeMs, ino: st.ino };
}

export function readState(dir: string): RepoState {
  try {
    const data = JSON.parse(readRegular(join(dir, stateFileName))?.toString('utf8') ?? 'null') as RepoState;
    if (data?.version === 1 && typeof data.files === 'object' && data.files !== null) return data;
  } catch {
    // absent or damaged: nothing is trusted
  }
  return { version: 1, files: {} };
}

/** Written beside and renamed over, so the state is never half-written. */
export function writeState(dir: string, state: RepoState): void {
  const tmp = join(dir, `.isomock-state.${randomBytes(8).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = createExclusive(tmp);
    const bytes = Buffer.from(`${JSON.stringify(state, null, 1)}\n`);
    // A write on a nearly full disk may be short; the next one reports ENOSPC.
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, join(dir, stateFileName));
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    removeOwn(tmp);
    throw new IsomockError(`cannot write ${join(dir, stateFileName)}: ${(err as Error).message}`, ExitCode.error);
  }
}

export function recordFile(path: string, sigmd5: string, sha256?: string): FileRecord {
  return { sigmd5, ...(sha256 !== undefined && { sha256 }), ...identity(lstatSync(path)) };
}

/** Is the file at path still the one the record describes (same bytes, by identity)? */
export function unchanged(record: FileRecord | undefined, path: string): boolean {
  if (!record) return false;
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return false;
  }
  if (!st.isFile()) return false;
  const now = identity(st);
  return (
    now.size === record.size &&
    now.mtimeMs === record.mtimeMs &&
    now.ctimeMs === record.ctimeMs &&
    now.ino === record.ino
  );
}

/**
 * Identity of every *.rpm below dir and of repodata/repomd.xml: createrepo_c
 * indexes every *.rpm it finds, in subdirectories too, so any change there
 * means the repodata must be made again. undefined when there is no repodata.
 */
export function repodataFingerprint(dir: string): string | undefined {
  const repomd = readRegular(join(dir, 'repodata', 'repomd.xml'));
  if (!repomd) return undefined;
  const hash = createHash('sha256').update(repomd);
  const rpms = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.rpm'))
    .map((e) => {
      const path = join(e.parentPath, e.name);
      const id = identity(lstatSync(path));
      return `${path}\0${id.size}\0${id.mtimeMs}\0${id.ctimeMs}\0${id.ino}`;
    })
    .sort();
  for (const line of rpms) hash.update(`${line}\n`);
  return hash.digest('hex');
}
