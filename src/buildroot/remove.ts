/**
 * Deleting a buildroot safely. A live bind of /dev or of a repository under a
 * root being deleted would mean deleting host data, so nothing is deleted
 * while anything is mounted below it. isomock itself never mounts on the
 * host (see sandbox.ts); a mount found here is someone else's, and is left alone.
 * The walk itself never follows a symlink and refuses any directory on
 * another device (safe-fs.ts), so a link or mount made after the mountinfo
 * check still stops it. Run only when no process of the build is alive.
 */
import { readFileSync, rmdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import { lstatOrUndefined } from '../util/no-follow.js';
import { SafeRoot } from '../util/safe-fs.js';

/** Mount points (decoded) at or below dir, from this process's mountinfo. */
function mountsBelow(dir: string): string[] {
  const base = resolve(dir);
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((mp) => mp === base || mp.startsWith(base + '/'));
}

/** Deletes dir and everything below it; absent is fine, a symlink in its place is refused. */
export async function removeTree(dir: string): Promise<void> {
  const mounts = mountsBelow(dir);
  if (mounts.length > 0) {
    throw new IsomockError(
      `refusing to delete ${dir}: still mounted below it: ${mounts.join(', ')} (unmount them first)`,
      ExitCode.chroot,
    );
  }
  const st = lstatOrUndefined(dir);
  if (!st) return;
  if (!st.isDirectory()) throw new IsomockError(`refusing to delete ${dir}: not a directory`, ExitCode.chroot);
  new SafeRoot(dir, ExitCode.chroot).remove('');
  rmdirSync(dir);
}
