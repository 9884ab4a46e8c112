/**
 * Opens a file for reading only if it is a regular file itself: never through
 * a symlink in its last component (O_NOFOLLOW), never blocking on a FIFO
 * (O_NONBLOCK), and refused, with the reason in one line, when it is a
 * symlink, a directory, a FIFO, a device or a socket. The caller owns the
 * descriptor and closes it. Reading through the descriptor then sees the very
 * file that was checked, whatever is renamed over the path meanwhile.
 */

const preadAsync = promisify(read);
import { constants, openSync, closeSync, fstatSync, read, type Stats } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { ExitCode, IsomockError } from '../errors.js';

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

export function openRegularFile(path: string, shownAs = path): { fd: number; size: number } {
  const refused = (why: string): IsomockError => refusal(shownAs, why);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
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
