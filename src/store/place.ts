/**
 * Placing a store entry into an output repository, cheapest first:
 * - a reflink (FICLONE, through copyFile's COPYFILE_FICLONE_FORCE): a file
 *   of its own that shares blocks until written, so nothing done to it can
 *   reach the entry;
 * - a hard link, only where nothing but isomock's user can write the output
 *   directory (owned by it, no group or other write bit). The link is the
 *   entry's inode: a 0444 file of root's, so no other user can change its
 *   bytes through any name; root could write it in place (or chown or chmod
 *   it through the repository's name), and then the entry has changed too,
 *   which is why the store checks every entry's owner, mode and bytes on
 *   every use (content-store.ts) and fetches a changed one again. Were
 *   others able to write the directory, the link would hand them nothing
 *   either, but the repository's files are theirs to expect as their own, so
 *   there a copy is made;
 * - a copy otherwise (another file system, a shared directory).
 * Every way first makes an isomock-named file with O_EXCL semantics (link(2)
 * and copyFile's COPYFILE_EXCL never follow a planted link) and renames it
 * over the final name, so the name is always either the old file or the
 * whole new one.
 */
import { randomBytes } from 'node:crypto';
import { constants, copyFileSync, lstatSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import { lstatOrUndefined } from '../util/no-follow.js';
import type { ContentStore } from './content-store.js';

export type Placement = 'reflink' | 'hardlink' | 'copy';

const placePrefix = '.isomock-place-';

/** Whether only the effective user can write dir: it owns it and no group or other write bit is set. */
export function onlyOursCanWrite(dir: string): boolean {
  const st = lstatSync(dir);
  return st.isDirectory() && st.uid === process.geteuid!() && (st.mode & 0o022) === 0;
}

/** Removes the temporary files of an interrupted placement (isomock's own names and files only). */
export function removePlaceLeftovers(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(placePrefix)) continue;
    const st = lstatOrUndefined(join(dir, name));
    if (st?.isFile() && st.uid === process.geteuid!()) rmSync(join(dir, name), { force: true });
  }
}

/** A reflink of from at to (a new name) where the file system can make one; false where it cannot. */
export function reflink(from: string, to: string): boolean {
  try {
    copyFileSync(from, to, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw err;
    // ENOTSUP, EXDEV, EINVAL...: this file system cannot; libuv removed what it created.
    return false;
  }
}

/**
 * Puts entry hex at dir/name, replacing what is there, and says how. The
 * caller has just verified the entry (ContentStore.openEntry). `reflink:
 * false` skips the attempt (a caller placing many files stops trying once
 * the file system has said no).
 */
export function placeEntry(
  store: ContentStore,
  hex: string,
  dir: string,
  name: string,
  how: { hardLink: boolean; reflink?: boolean },
): Placement {
  const from = store.entryPath(hex);
  const tmp = join(dir, `${placePrefix}${randomBytes(8).toString('hex')}`);
  try {
    let done: Placement;
    if (how.reflink !== false && reflink(from, tmp)) done = 'reflink';
    else if (how.hardLink && store.linkTo(hex, tmp)) done = 'hardlink';
    else {
      copyFileSync(from, tmp, constants.COPYFILE_EXCL);
      done = 'copy';
    }
    renameSync(tmp, join(dir, name));
    return done;
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new IsomockError(`cannot place ${join(dir, name)} from the store: ${(err as Error).message}`, ExitCode.error);
  }
}
