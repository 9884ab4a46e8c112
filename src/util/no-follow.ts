/**
 * Files isomock itself creates or takes up again in a directory others may
 * write (an output repository): opened O_NOFOLLOW, created O_CREAT|O_EXCL,
 * and taken up only when lstat shows a regular file of ours with one link,
 * checked again on the descriptor (fstat), so a planted symlink, hard link,
 * FIFO or someone else's file is refused, never written through.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, unlinkSync, type Stats } from 'node:fs';
import { ExitCode, IsomockError } from '../errors.js';
import { lstatOrUndefined } from './safe-fs.js';
import { openRegularFile } from './open-regular.js';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_WRONLY } = constants;

/** Why the entry at path is not a file isomock may take up, or undefined when it may. */
export function notOurs(st: Stats): string | undefined {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (!st.isFile()) return 'not a regular file';
  if (st.uid !== process.geteuid!()) return `owned by uid ${st.uid}`;
  if (st.nlink !== 1) return `a file with ${st.nlink} links`;
  return undefined;
}

function refuse(path: string, why: string): IsomockError {
  return new IsomockError(`${path} is ${why}, not a file isomock made; move it away and run again`, ExitCode.error);
}

/** A new file at path, which must not exist (a planted link makes this fail, not follow). */
export function createExclusive(path: string, mode = 0o644): number {
  return openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
}

/**
 * Opens isomock's own file at path again (flags plus O_NOFOLLOW), refusing
 * anything else. Returns the descriptor and the file's size.
 */
export function reopenOwn(path: string, flags: number): { fd: number; size: number } {
  const before = lstatSync(path);
  const why = notOurs(before);
  if (why) throw refuse(path, why);
  const fd = openSync(path, flags | O_NOFOLLOW | O_NONBLOCK);
  const st = fstatSync(fd);
  if (st.ino !== before.ino || st.dev !== before.dev || notOurs(st)) {
    closeSync(fd);
    throw refuse(path, 'replaced while being opened');
  }
  return { fd, size: st.size };
}

/** The contents of a regular file, never through a link nor blocking on a FIFO; undefined when absent. */
export function readRegular(path: string): Buffer | undefined {
  let fd: number;
  try {
    ({ fd } = openRegularFile(path));
  } catch {
    return undefined;
  }
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Removes path if it is isomock's own file (never a link's target, never someone else's file). */
export function removeOwn(path: string): void {
  const st = lstatOrUndefined(path);
  if (st && !notOurs(st)) unlinkSync(path);
}
