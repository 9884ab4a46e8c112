/**
 * The RPM files behind a lockfile, for isomock's record beside it: the file
 * the package manager kept (keepcache) in the cache directory the config
 * names, in dnf4's and dnf5's layout (`<cachedir>/<repoid>-<16 hex>/packages/
 * <N-V-R.A>.rpm`), or, when it kept none, the file fetched from its locked
 * URL (through the repository's transport when the caller gives it). Either way the file must be the locked package, whole
 * (lockfile/verify-rpm.ts), before its SHA-256 and size are taken: the
 * record never holds a null. The cache is read without following any
 * symlink a package's scriptlet could plant (it runs with the cache bound).
 */
import { createWriteStream, lstatSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ExitCode, IsomockError } from '../errors.js';
import { rpmFileName, type LockedRpm } from '../lockfile/lockfile.js';
import { sha256OfFile } from '../lockfile/record.js';
import { verifyLockedRpm } from '../lockfile/verify-rpm.js';
import { netErrorFrom } from '../net/net-error.js';
import { Transport } from '../net/transport.js';
import type { BuildConfig } from './build-config.js';
import type { PackageManagerName } from './pkgmgr.js';

/** Where the package manager Mock binds its cache for (Mock's yum_cache plugin: `dnf_cache` at /var/cache/dnf). */
const boundCache = '/var/cache/dnf';

/**
 * The host directory of the package cache: dnf4 reads `cachedir`, dnf5 (as
 * root) `system_cachedir`, each with its own default; Mock's bound directory
 * is the per-root `dnf_cache`, any other lives inside the buildroot.
 */
export function packageCacheDir(config: BuildConfig, pm: PackageManagerName): string {
  const main = config.dnfConf.main.options;
  const inside =
    pm === 'dnf5'
      ? (main.get('system_cachedir') ?? '/var/cache/libdnf5')
      : (main.get('cachedir') ?? (pm === 'yum' ? '/var/cache/yum' : boundCache));
  const path = `/${inside.trim().replace(/^\/+|\/+$/g, '')}`;
  return path === boundCache ? join(config.cachedir, 'dnf_cache') : join(config.rootdir, path);
}

/** True when no component of path below top is a symlink (and path exists). */
function noSymlinkBelow(top: string, path: string): boolean {
  const rel = relative(top, path);
  if (rel.startsWith('..')) return false;
  let current = top;
  for (const part of rel.split(sep).filter(Boolean)) {
    current = join(current, part);
    try {
      if (lstatSync(current).isSymbolicLink()) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * The kept files named like the package, in every cached repo of `repoIds`
 * (both layouts name dirs `<id>-<hex>`). Scriptlets run while the cache is
 * bound into the buildroot, so no component below `trusted` may be a symlink.
 */
function keptCandidates(cacheDir: string, trusted: string, repoIds: string[], name: string): string[] {
  let dirs: string[];
  try {
    dirs = readdirSync(cacheDir);
  } catch {
    return [];
  }
  return dirs
    .filter((d) =>
      repoIds.some((id) => new RegExp(`^${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[0-9a-f]{16}$`).test(d)),
    )
    .map((d) => join(cacheDir, d, 'packages', name))
    .filter((p) => noSymlinkBelow(trusted, p))
    .filter((p) => {
      try {
        return lstatSync(p).isFile();
      } catch {
        return false;
      }
    });
}

export interface HashedRpm {
  sha256: string;
  size: number;
  /** Where it was hashed from: the kept file, or the URL. */
  from: 'cache' | 'url';
}

async function hashVerified(path: string, rpm: LockedRpm): Promise<Omit<HashedRpm, 'from'>> {
  await verifyLockedRpm(path, rpm);
  return { sha256: await sha256OfFile(path), size: statSync(path).size };
}

/** Downloads the locked URL (through its repository's transport) into a private temporary file, verifies and hashes it, removes it. */
async function fetchAndHash(rpm: LockedRpm, transport: Transport, signal?: AbortSignal) {
  const dir = mkdtempSync(join(tmpdir(), 'isomock-record-'));
  try {
    const path = join(dir, rpmFileName(rpm));
    try {
      const res = await transport.request(rpm.url, { signal: signal ?? AbortSignal.timeout(300_000) });
      await pipeline(res.body, createWriteStream(path, { flags: 'wx' }));
    } catch (err) {
      const net = netErrorFrom(err, rpm.url);
      throw new IsomockError(`cannot fetch ${net.url} to record it: ${net.reason}`, ExitCode.packageManager);
    }
    return await hashVerified(path, rpm);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * SHA-256 and size of the locked package: from the first kept file that is
 * that package (a kept file that is not is skipped), else from its URL.
 */
export async function hashLockedRpm(
  cacheDir: string,
  config: BuildConfig,
  repoIds: string[],
  rpm: LockedRpm,
  net: { transport?: Transport; signal?: AbortSignal } = {},
): Promise<HashedRpm> {
  const trusted = cacheDir.startsWith(`${config.rootdir}${sep}`) ? config.rootdir : config.cachedir;
  for (const path of keptCandidates(cacheDir, trusted, repoIds, rpmFileName(rpm))) {
    try {
      return { ...(await hashVerified(path, rpm)), from: 'cache' };
    } catch {
      // Another repo's file of the same name, or a damaged one: the URL decides.
    }
  }
  if (net.transport) return { ...(await fetchAndHash(rpm, net.transport, net.signal)), from: 'url' };
  const own = new Transport();
  try {
    return { ...(await fetchAndHash(rpm, own, net.signal)), from: 'url' };
  } finally {
    await own.close();
  }
}
