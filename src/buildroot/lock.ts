/**
 * One build per root at a time. Node has no flock(2); a lock file created
 * with O_EXCL holds the owner's pid, and a lock whose owner is gone is stale
 * and taken over.
 */
import { openSync, writeSync, closeSync, readFileSync, unlinkSync } from 'node:fs';
import { ExitCode, IsomockError } from '../errors.js';

export interface RootLock {
  release(): void;
}

function ownerAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(path: string): boolean {
  try {
    const fd = openSync(path, 'wx', 0o644);
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function readOwner(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isFinite(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock at path, waiting up to waitMs for a live owner (printing
 * who holds it), or fails with Mock's "lock held" exit code.
 */
export async function lockRoot(
  path: string,
  what: string,
  waitMs: number,
  notify: (m: string) => void,
): Promise<RootLock> {
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    if (tryCreate(path)) {
      return {
        release: () => {
          if (readOwner(path) === process.pid) unlinkSync(path);
        },
      };
    }
    const owner = readOwner(path);
    if (owner !== undefined && !ownerAlive(owner)) {
      // Stale: the owner died without releasing. Remove and race for it again.
      try {
        unlinkSync(path);
      } catch {
        /* someone else removed it first */
      }
      continue;
    }
    if (Date.now() >= deadline) {
      throw new IsomockError(
        `${what} is in use by process ${owner ?? '?'} (lock ${path}); use --uniqueext for a parallel root`,
        ExitCode.lockHeld,
      );
    }
    if (!told) {
      notify(`waiting for the lock on ${what}, held by process ${owner ?? '?'}`);
      told = true;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
