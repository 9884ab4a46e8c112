/**
 * Exclusive locks that the kernel releases: flock(2) on a file descriptor
 * this process opened itself, so a crashed or killed holder never leaves a
 * stale lock, and PIDs (meaningless across PID namespaces) play no part.
 *
 * The lock file is opened O_NOFOLLOW (O_EXCL when it is created) and must be
 * a regular file with one link owned by this process's user. It is removed
 * on release while still locked; a taker that locked a file someone removed
 * meanwhile (its path no longer names that file) starts over, so two takers
 * never hold locks on two different files of one path.
 * Node has no flock(2): flock(1) is given the descriptor itself (`flock 3`,
 * inherited), never the path, and locks the open file description that this
 * process keeps; closing it releases the lock.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, fstatSync, lstatSync, openSync, unlinkSync } from 'node:fs';
import { ExitCode, IsomockError } from '../errors.js';

export interface HeldLock {
  release(): void;
}

export interface LockOptions {
  /** How long to wait for another holder: 0 fails at once, Infinity waits for ever. */
  waitMs: number;
  /** Told once when the lock is busy and the wait begins. */
  onWait?: () => void;
  signal?: AbortSignal;
}

/** What the lock is on, for messages ("root fedora-42-x86_64"). */
export class LockBusyError extends IsomockError {
  constructor(what: string, path: string) {
    super(
      `${what} is in use by another isomock (lock ${path}); use --uniqueext for a parallel root`,
      ExitCode.lockHeld,
    );
  }
}

const busyExit = 75;

/** Opens (creating it when absent) the lock file, refusing anything but a regular file of ours. */
function openLockFile(path: string): number {
  const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
  let fd: number;
  try {
    fd = openSync(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') throw lockFileError(path, err);
    try {
      fd = openSync(path, O_RDWR | O_NOFOLLOW);
    } catch (again) {
      throw lockFileError(path, again);
    }
  }
  const st = fstatSync(fd);
  const uid = process.getuid?.() ?? 0;
  if (!st.isFile() || st.nlink !== 1 || st.uid !== uid) {
    closeSync(fd);
    throw new IsomockError(
      `refusing lock file ${path}: not a regular file with one link owned by uid ${uid} (someone else made it)`,
    );
  }
  return fd;
}

function lockFileError(path: string, err: unknown): IsomockError {
  const e = err as NodeJS.ErrnoException;
  const why = e.code === 'ELOOP' ? 'it is a symbolic link' : `${e.code ?? e.message}`;
  return new IsomockError(`cannot open lock file ${path}: ${why}`);
}

/** Runs flock(1) on fd (as the child's fd 3); resolves true when locked, false when busy. */
function flockFd(fd: number, waitMs: number, signal?: AbortSignal): Promise<boolean> {
  const wait = waitMs === 0 ? ['-n'] : Number.isFinite(waitMs) ? ['-w', String(waitMs / 1000)] : [];
  const child = spawn('/usr/bin/flock', ['-x', ...wait, '-E', String(busyExit), '3'], {
    stdio: ['ignore', 'ignore', 'pipe', fd],
    signal,
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(err));
    child.once('close', (code) => {
      if (code === 0) resolve(true);
      else if (code === busyExit) resolve(false);
      else reject(new IsomockError(`flock failed (exit ${code}): ${stderr.trim()}`));
    });
  });
}

/**
 * Takes the exclusive lock at path: at once, or after waiting up to
 * options.waitMs; throws LockBusyError (Mock's exit code 60) when still busy.
 */
export async function takeLock(path: string, what: string, options: LockOptions): Promise<HeldLock> {
  for (;;) {
    const fd = openLockFile(path);
    try {
      let held = await flockFd(fd, 0, options.signal);
      if (!held && options.waitMs > 0) {
        options.onWait?.();
        held = await flockFd(fd, options.waitMs, options.signal);
      }
      if (!held) throw new LockBusyError(what, path);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    if (!namesFile(path, fd)) {
      closeSync(fd); // its holder removed it while we waited: lock the file the path names now
      continue;
    }
    let open = true;
    return {
      release: () => {
        if (!open) return;
        open = false;
        if (namesFile(path, fd)) unlinkSync(path);
        closeSync(fd);
      },
    };
  }
}

/** Whether path (not followed) is still the file open as fd. */
function namesFile(path: string, fd: number): boolean {
  try {
    const [a, b] = [lstatSync(path), fstatSync(fd)];
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}
