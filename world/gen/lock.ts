/**
 * An exclusive lock held by flock(1) on our behalf: flock takes the lock,
 * prints a line, then waits on its stdin. Closing stdin (or this process
 * dying, which closes the pipe) releases it, so a crashed build never leaves
 * a stale lock behind.
 */
import { spawn } from 'node:child_process';
import { IsomockError } from '../../src/errors.js';

export interface HeldLock {
  release(): Promise<void>;
}

export function acquireLock(path: string): Promise<HeldLock> {
  const child = spawn('flock', ['--exclusive', path, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new IsomockError(`world: flock on ${path} exited with ${code}`)));
    child.stdout.once('data', () => {
      resolve({
        async release() {
          child.stdin.end();
          await exited;
        },
      });
    });
  });
}
