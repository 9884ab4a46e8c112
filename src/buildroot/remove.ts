/**
 * Deleting a buildroot safely. A live bind of /dev or of a repository under a
 * root being deleted would mean deleting host data, so nothing is deleted
 * while anything is mounted below it. isomock itself never mounts on the
 * host (see sandbox.ts); a mount found here is someone else's, and is left alone.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';

/** Mount points (decoded) at or below dir, from this process's mountinfo. */
export function mountsBelow(dir: string): string[] {
  const base = resolve(dir);
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((mp) => mp === base || mp.startsWith(base + '/'));
}

export async function removeTree(dir: string): Promise<void> {
  const mounts = mountsBelow(dir);
  if (mounts.length > 0) {
    throw new IsomockError(
      `refusing to delete ${dir}: still mounted below it: ${mounts.join(', ')} (unmount them first)`,
      ExitCode.chroot,
    );
  }
  await rm(dir, { recursive: true, force: true });
}
