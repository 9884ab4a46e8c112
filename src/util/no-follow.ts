/**
 * Single paths, never followed through a link: the two ways isomock opens a
 * path that is not inside a root it walks (for those, safe-fs.ts's SafeRoot).
 *
 * - A path isomock is handed (a lockfile, an RPM in a repository, a record):
 *   opened for reading only if it is a regular file itself, never through a
 *   symlink in its last component (O_NOFOLLOW), never blocking on a FIFO
 *   (O_NONBLOCK), refused with the reason in one line when it is a symlink,
 *   a directory, a FIFO, a device or a socket. The caller owns the
 *   descriptor; reading through it sees the very file that was checked,
 *   whatever is renamed over the path meanwhile.
 * - Files isomock itself creates or takes up again in a directory others may
 *   write (an output repository): created O_CREAT|O_EXCL|O_NOFOLLOW, and taken
 *   up only when lstat shows a regular file of ours with one link, checked
 *   again on the descriptor (fstat), so a planted symlink, hard link, FIFO or
 *   someone else's file is refused, never written through.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  read,
  readFileSync,
  unlinkSync,
  type Stats,
} from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { ExitCode, IsomockError } from '../errors.js';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } = constants;
const preadAsync = promisify(read);

/** lstat, or undefined when nothing is there. */
export function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function kind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'of another kind';
}

const refusal = (shownAs: string, why: string): IsomockError =>
  new IsomockError(`${shownAs} is ${why}, not a regular file: refused`, ExitCode.error);

/** A descriptor the caller already opened without following links, checked a regular file (the caller keeps it). */
export function regularDescriptor(fd: number, shownAs: string): { fd: number; size: number } {
  const st = fstatSync(fd);
  if (!st.isFile()) throw refusal(shownAs, kind(st));
  return { fd, size: st.size };
}

/** Opens path for reading if it is a regular file itself (see the header); `shownAs` names it in errors. */
export function openRegularFile(path: string, shownAs = path): { fd: number; size: number } {
  const refused = (why: string): IsomockError => refusal(shownAs, why);
  let fd: number;
  try {
    fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw refused('a symbolic link');
    throw new IsomockError(`cannot open ${shownAs}: ${code ?? (err as Error).message}`, ExitCode.error);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw refused(kind(st));
  }
  return { fd, size: st.size };
}

/**
 * The file's bytes from the start, read at explicit offsets: the descriptor
 * may be read again, and ending or destroying the stream leaves it open (an
 * fs.ReadStream closes even a descriptor it was given).
 */
export function readFromStart(fd: number, chunkSize = 1 << 20): Readable {
  return Readable.from(
    (async function* () {
      for (let position = 0; ;) {
        const buffer = Buffer.allocUnsafe(chunkSize);
        const { bytesRead } = await preadAsync(fd, buffer, 0, chunkSize, position);
        if (bytesRead === 0) return;
        position += bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
    })(),
    { objectMode: false },
  );
}

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
