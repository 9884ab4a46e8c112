/**
 * Whether a root cache tarball may be unpacked (pure: the caller lstat()s
 * the file and stat()s the configs; nothing is read, spawned or removed
 * here). Mock's rules, from root_cache.py `_unpack_root_cache`: with
 * age_check, a cache whose ctime is more than max_age_days old, or older
 * (mtime) than any config file read, is removed and made again; without it
 * the cache is used as it is. isomock adds what Mock does not check: the
 * entry must be a regular file (never a link's target), owned by isomock's
 * user and writable by no one else, or it is ignored and replaced.
 */

/** What lstat says of the cache file. */
export interface CacheEntry {
  kind: 'file' | 'symlink' | 'other';
  uid: number;
  mode: number;
  ctimeMs: number;
  mtimeMs: number;
}

export type CacheVerdict =
  /** Unpack it; `line` is Mock's info line, when Mock logs one. */
  | { use: true; line?: string }
  /** Do not use it; `remove` it first when Mock would (a stale cache); `warn` when it is refused as unsafe. */
  | { use: false; remove: boolean; line?: string; warn?: boolean };

export interface ValidityRules {
  ageCheck: boolean;
  maxAgeDays: number;
}

const dayMs = 24 * 60 * 60 * 1000;

export function rootCacheVerdict(
  rules: ValidityRules,
  path: string,
  entry: CacheEntry | undefined,
  configs: { path: string; mtimeMs: number }[],
  nowMs: number,
  ownUid: number,
): CacheVerdict {
  if (!entry) return { use: false, remove: false };
  const refused = (why: string): CacheVerdict => ({
    use: false,
    remove: false,
    warn: true,
    line: `root cache ${path} is ${why}: ignored, it is made again`,
  });
  if (entry.kind === 'symlink') return refused('a symbolic link');
  if (entry.kind !== 'file') return refused('not a regular file');
  if (entry.uid !== ownUid) return refused(`owned by uid ${entry.uid}`);
  if ((entry.mode & 0o022) !== 0) return refused('writable by others than its owner');
  if (!rules.ageCheck) return { use: true, line: 'skipping root_cache aging check' };
  if ((nowMs - entry.ctimeMs) / dayMs > rules.maxAgeDays)
    return { use: false, remove: true, line: 'root cache aged out! cache will be rebuilt' };
  const newer = configs.find((c) => c.mtimeMs > entry.mtimeMs);
  if (newer) return { use: false, remove: true, line: `${newer.path} newer than root cache; cache will be rebuilt` };
  return { use: true };
}
