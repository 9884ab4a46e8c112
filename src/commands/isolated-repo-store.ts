/**
 * The locked RPMs of an offline repository and the content-addressed store
 * (store/content-store.ts): before any download, each RPM the store holds is
 * verified from its entry (one read: NEVRA, SIGMD5, signature, every header
 * and payload digest, size and SHA-256) and placed into the repository
 * (store/place.ts: reflink, hard link, or copy); each download enters it
 * as it is placed, without being read again (keepDownloaded says why that
 * suffices); after the downloads, each RPM the store still lacks (one found
 * already in the repository) enters it, verified again from the store's own
 * copy.
 * An RPM is found by its SHA-256 when isomock's record gives one, else by
 * its SIGMD5 through the store's index. The store is root's: for any other
 * user there is none, and isolated-repo downloads as before.
 */
import { closeSync, constants, copyFileSync, fstatSync, linkSync, lstatSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../errors.js';
import type { LockedRpm } from '../lockfile/lockfile.js';
import type { RecordedPackage } from '../lockfile/record.js';
import { verifyLockedRpm } from '../lockfile/verify-rpm.js';
import { ContentStore, storeLocation } from '../store/content-store.js';
import { onlyOursCanWrite, placeEntry, reflink, removePlaceLeftovers, type Placement } from '../store/place.js';
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

/** A hard link of path in the store's staging area when it is still the file open at fd; undefined when that cannot be. */
function linkToStaging(rs: RepoStore, path: string, fd: number): string | undefined {
  const tmp = rs.store.stagingPath();
  try {
    linkSync(path, tmp);
  } catch {
    return undefined; // another file system: copy
  }
  const linked = lstatSync(tmp);
  const open = fstatSync(fd);
  if (linked.ino === open.ino && linked.dev === open.dev) return tmp;
  rmSync(tmp, { force: true });
  return undefined;
}

/** A copy, in the store's staging area, of the file open at fd (reflinked where the file system can). */
function copyToStaging(rs: RepoStore, fd: number): string {
  const tmp = rs.store.stagingPath();
  const self = `/proc/self/fd/${fd}`;
  if (!reflink(self, tmp)) copyFileSync(self, tmp, constants.COPYFILE_EXCL);
  return tmp;
}

/** The staged file enters as entry hex, and the RPM's SIGMD5 names it. */
function commitRpm(rs: RepoStore, rpm: LockedRpm, tmp: string, hex: string): void {
  rs.store.commit(tmp, hex);
  rs.store.remember(indexKind, rpm.sigmd5, hex);
}

/**
 * Enters an RPM just downloaded to dir/name into the store, unless the store
 * has it, without reading it again: `fd` is still open on the file the
 * downloader wrote and checked (its bytes as they arrived, or the whole file
 * when it was resumed), and `sha256` is what those bytes hash to. That
 * suffices because the file is isomock's own, made by this run (O_EXCL, one
 * link, root's, 0644: only root can change its bytes); the entry is that
 * very inode, linked only when nothing but root can write the repository and
 * checked to be fd's, else a copy made from fd itself, so no other file can
 * enter under its name; and once committed (root-only, 0444) it is verified
 * again from the store on every later use. True when the file at dir/name is
 * now the store's entry (its mode and ctime changed).
 */
export function keepDownloaded(rs: RepoStore, rpm: LockedRpm, name: string, fd: number, sha256: string): boolean {
  if (rs.store.stat(sha256)) return false;
  const linked = rs.hardLink ? linkToStaging(rs, join(rs.dir, name), fd) : undefined;
  commitRpm(rs, rpm, linked ?? copyToStaging(rs, fd), sha256);
  return linked !== undefined;
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
  const { fd } = openRegularFile(src);
  let tmp: string;
  let linked: boolean;
  try {
    const link = rs.hardLink ? linkToStaging(rs, src, fd) : undefined;
    linked = link !== undefined;
    tmp = link ?? copyToStaging(rs, fd);
  } finally {
    closeSync(fd);
  }
  let hex: string;
  const staged = openSync(tmp, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    hex = await verifyLockedRpm(staged, rpm, `${src} (entering the store)`, recorded);
  } catch (err) {
    // Verified once already: the repository's file changed since, and the download's check stands for nothing now.
    rmSync(tmp, { force: true });
    throw err;
  } finally {
    closeSync(staged);
  }
  const entered = !rs.store.stat(hex);
  commitRpm(rs, rpm, tmp, hex);
  return linked && entered;
}
