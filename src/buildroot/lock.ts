/**
 * One build per root (and one writer per output repository) at a time: the
 * kernel-released flock of src/util/lock.ts on a lock file beside the root.
 */
import { takeLock, type HeldLock } from '../util/lock.js';

export type RootLock = HeldLock;

/**
 * Takes the lock at path, waiting up to waitMs for another holder (telling
 * notify once), or fails with Mock's "lock held" exit code.
 */
export function lockRoot(path: string, what: string, waitMs: number, notify: (m: string) => void): Promise<RootLock> {
  return takeLock(path, what, { waitMs, onWait: () => notify(`waiting for the lock on ${what} (${path})`) });
}
