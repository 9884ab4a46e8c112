/**
 * The locked RPMs of an offline repository and the content-addressed store
 * (store/content-store.ts): before any download, each RPM the store holds is
 * verified from its entry (one read: NEVRA, SIGMD5, signature, every header
 * and payload digest, size and SHA-256) and placed into the repository
 * (store/place.ts: reflink, hard link, or copy); after the downloads, each
 * RPM the store lacks enters it, verified again from the store's own copy.
 * An RPM is found by its SHA-256 when isomock's record gives one, else by
 * its SIGMD5 through the store's index. The store is root's: for any other
 * user there is none, and isolated-repo downloads as before.
 */
import { closeSync, constants, copyFileSync, linkSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../errors.js';
import type { LockedRpm } from '../lockfile/lockfile.js';
import type { RecordedPackage } from '../lockfile/record.js';
import { verifyLockedRpm } from '../lockfile/verify-rpm.js';
import { ContentStore, storeLocation } from '../store/content-store.js';
import { onlyOursCanWrite, placeEntry, removePlaceLeftovers, type Placement } from '../store/place.js';
import { openRegularFile } from '../util/no-follow.js';

const indexKind = 'rpm';

export interface RepoStore {
  store: ContentStore;
  /** The output repository, where hard links are allowed only when nothing else can write it. */
  dir: string;
  hardLink: boolean;
  /** Until a placement finds that this file system cannot reflink. */
  reflink: boolean;
}

/** The store at root for the output repository dir, or undefined when this user is not root. */
export function openRepoStore(
  dir: string,
  root: string | undefined,
  onNotice: (line: string) => void,
): RepoStore | undefined {
  if (process.geteuid?.() !== 0) return undefined;
  const store = ContentStore.open(root ?? storeLocation(), ExitCode.error, onNotice);
  removePlaceLeftovers(dir);
  return { store, dir, hardLink: onlyOursCanWrite(dir), reflink: true };
}

function entryOf(rs: RepoStore, rpm: LockedRpm, recorded: RecordedPackage | undefined): string | undefined {
  return recorded?.sha256 ?? rs.store.lookup(indexKind, rpm.sigmd5);
}

/**
 * Places the locked RPM at dir/name from the store when an entry there
 * verifies as it; undefined when the store has none (a damaged entry is
 * dropped, with a notice, and the RPM is then downloaded).
 */
export async function placeFromStore(
  rs: RepoStore,
  rpm: LockedRpm,
  recorded: RecordedPackage | undefined,
  name: string,
): Promise<Placement | undefined> {
  const hex = entryOf(rs, rpm, recorded);
  if (hex === undefined) return undefined;
  const entry = rs.store.openEntry(hex);
  if (!entry) return undefined;
  try {
    let got: string;
    try {
      got = await verifyLockedRpm(entry.fd, rpm, `store entry sha256:${hex}`, recorded);
    } catch (err) {
      rs.store.discard(hex, `not ${name}: ${(err as Error).message}`);
      return undefined;
    }
    if (!entry.check(got)) return undefined;
    const how = placeEntry(rs.store, hex, rs.dir, name, rs);
    if (how !== 'reflink') rs.reflink = false;
    return how;
  } finally {
    entry.close();
  }
}

/**
 * Enters the verified RPM at dir/name into the store unless the store has it.
 * In a repository only isomock can write, the file is linked in (no copy) and
 * becomes the entry; elsewhere the store takes a copy (reflinked where it
 * can), read from a descriptor opened without following links. Either way the
 * staged file is verified on its own before it enters. True when the file at
 * dir/name is now the store's entry (its mode and ctime changed).
 */
export async function keepInStore(
  rs: RepoStore,
  rpm: LockedRpm,
  recorded: RecordedPackage | undefined,
  name: string,
): Promise<boolean> {
  const known = entryOf(rs, rpm, recorded);
  if (known !== undefined && rs.store.stat(known)) return false;
  const src = join(rs.dir, name);
  const tmp = rs.store.stagingPath();
  let linked = false;
  if (rs.hardLink) {
    try {
      linkSync(src, tmp);
      linked = true;
    } catch {
      // another file system: copy
    }
  }
  if (!linked) {
    const { fd } = openRegularFile(src);
    try {
      const self = `/proc/self/fd/${fd}`;
      try {
        copyFileSync(self, tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
      } catch {
        copyFileSync(self, tmp, constants.COPYFILE_EXCL);
      }
    } finally {
      closeSync(fd);
    }
  }
  let hex: string;
  const fd = openSync(tmp, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    hex = await verifyLockedRpm(fd, rpm, `${src} (entering the store)`, recorded);
  } catch (err) {
    // Verified once already: the repository's file changed since, and the download's check stands for nothing now.
    rmSync(tmp, { force: true });
    throw err;
  } finally {
    closeSync(fd);
  }
  const entered = !rs.store.stat(hex);
  rs.store.commit(tmp, hex);
  rs.store.remember(indexKind, rpm.sigmd5, hex);
  return linked && entered;
}
