/**
 * What --calculate-build-dependencies records: every RPM in the buildroot
 * (as Mock queries it: rpm -qa with its fields; the URL its package manager's
 * repoquery --location would give, read from the metadata it cached:
 * repo-locations.ts), the config keys Mock keeps, and the
 * bootstrap image; and isomock's own record beside it (lockfile/record.ts),
 * hashed from the package manager's kept cache, or fetched when it kept none.
 */
import { ExitCode, IsomockError } from '../errors.js';
import { currentLockfileVersion, type LockedBootstrap, type LockedRpm, type Lockfile } from '../lockfile/lockfile.js';
import type { JsonValue } from '../python/json.js';
import {
  recordKey,
  recordVersion,
  type IsomockRecord,
  type NetworkNote,
  type RecordedPackage,
} from '../lockfile/record.js';
import { netErrorFrom } from '../net/net-error.js';
import { originOf, shownUrl } from '../net/url.js';
import { checkUrl } from '../net/url-check.js';
import { RepoTransports } from './repo-transports.js';
import { defaultJobs, mapLimit } from '../util/map-limit.js';
import { hashLockedRpm, packageCacheDir } from './package-cache.js';
import { cachedRepos, locateInMetadata, openCache, type CachedRepo } from './repo-locations.js';
import { signatureFromPgpsig } from '../rpm/header-pgp.js';
import type { BuildConfig } from './build-config.js';
import type { Buildroot, InstalledHeader } from './buildroot.js';

type Queried = Omit<LockedRpm, 'url'>;

/** Mock's lock query line (its fields in its order): the packages are sorted by it. */
const lockLine = (h: InstalledHeader): string =>
  [h.name, h.arch, h.license, h.version, h.release, h.epoch, h.sigmd5, h['sigpgp:pgpsig']].join('|/@');

/** The installed packages as Mock's lock query reads them (buildroot.ts asks rpm once for these and the package list). */
async function queryInstalledForLock(br: Buildroot): Promise<Queried[]> {
  return (await br.installedHeaders())
    .filter((h) => h.name !== 'gpg-pubkey')
    .sort((a, b) => (lockLine(a) < lockLine(b) ? -1 : lockLine(a) > lockLine(b) ? 1 : 0))
    .map((h) => ({
      name: h.name,
      arch: h.arch,
      license: h.license,
      version: h.version,
      release: h.release,
      epoch: h.epoch === '(none)' ? null : h.epoch,
      sigmd5: h.sigmd5,
      signature: signatureFromPgpsig(h['sigpgp:pgpsig']),
    }));
}

/** N-V-R.A, as Mock names packages in its errors. */
const nvra = (r: Queried): string => `${r.name}-${r.version}-${r.release}.${r.arch}`;

/** A checked package URL: the one to record, and where its redirects ended when elsewhere. */
interface CheckedUrl {
  url: string;
  finalUrl?: string;
}

/**
 * The check of one URL through its repository's transport (its proxy and
 * TLS, as dnf reaches it): GET of one byte, redirects followed. Undefined
 * when it answers from the first URL, the final URL when it was redirected,
 * else the problem.
 */
async function answers(net: RepoTransports, url: string): Promise<{ problem?: string; finalUrl?: string }> {
  if (url.startsWith('file://')) return {};
  try {
    const check = await checkUrl(net.transportFor(url), url, { retry: { attempts: 2 } });
    return check.redirected ? { finalUrl: check.finalUrl } : {};
  } catch (err) {
    return { problem: netErrorFrom(err, url).reason };
  }
}

/**
 * Every URL must answer: a dead one would only fail later, offline. For a
 * metalink or mirrorlist repo, repoquery may name a mirror that is down (as
 * Mock's lockfile then does); the same file on another of the repo's
 * mirrors, in dnf's order, replaces it. Returns the URLs to record.
 */
async function checkUrls(urls: string[], repos: CachedRepo[], net: RepoTransports): Promise<CheckedUrl[]> {
  const failures: string[] = [];
  const checked = await mapLimit(urls, defaultJobs, async (url): Promise<CheckedUrl> => {
    const first = await answers(net, url);
    if (first.problem === undefined) return { url, ...first };
    const repo = repos.find((r) => r.mirrored && r.bases.some((b) => url.startsWith(b)));
    const base = repo?.bases.find((b) => url.startsWith(b));
    for (const other of repo?.bases.filter((b) => b !== base) ?? []) {
      const candidate = other + url.slice(base!.length);
      const again = await answers(net, candidate);
      if (again.problem === undefined) return { url: candidate, ...again };
    }
    failures.push(`${shownUrl(url)} (${first.problem})`);
    return { url };
  });
  if (failures.length) {
    const shown = failures.sort().slice(0, 5).join(', ');
    const more = failures.length > 5 ? `, and ${failures.length - 5} more` : '';
    throw new IsomockError(
      `${failures.length} package location(s) do not answer: ${shown}${more}`,
      ExitCode.packageManager,
    );
  }
  return checked;
}

/** Per origin of the recorded URLs, the network settings isomock's check used to reach it. */
function networkNotes(net: RepoTransports, urls: string[]): Record<string, NetworkNote[]> | undefined {
  const out: Record<string, NetworkNote[]> = {};
  for (const url of urls) {
    if (url.startsWith('file://')) continue;
    const notes = net.notesFor(url);
    if (notes.length) out[originOf(new URL(url))] = notes;
  }
  return Object.keys(out).length ? out : undefined;
}

/** The lockfile, and isomock's record of the same files beside it. */
export async function recordLockfile(
  br: Buildroot,
  bootstrap?: LockedBootstrap,
): Promise<{ lock: Lockfile; record: IsomockRecord }> {
  const queried = await queryInstalledForLock(br);
  const cacheDir = packageCacheDir(br.config, br.pm.name);
  const cache = openCache(cacheDir);
  const repos = await cachedRepos(br.config, cache);
  const locations = await locateInMetadata(cache, repos, queried);
  const missing = queried.filter((r) => !locations.has(`${r.name}.${r.arch}`));
  if (missing.length) {
    throw new IsomockError(
      `cannot get the location of ${missing.map(nvra).join(', ')} from the configured repositories`,
      ExitCode.packageManager,
    );
  }
  const net = new RepoTransports(br.config, new Map(repos.map((r) => [r.id, r.bases])));
  try {
    return await lockAndRecord(br, bootstrap, queried, locations, repos, cacheDir, net);
  } finally {
    await net.close();
  }
}

async function lockAndRecord(
  br: Buildroot,
  bootstrap: LockedBootstrap | undefined,
  queried: Queried[],
  locations: Map<string, string>,
  repos: CachedRepo[],
  cacheDir: string,
  net: RepoTransports,
): Promise<{ lock: Lockfile; record: IsomockRecord }> {
  const checked = await checkUrls(
    queried.map((r) => locations.get(`${r.name}.${r.arch}`)!),
    repos,
    net,
  );
  const rpms: LockedRpm[] = queried.map((r, i) => ({ ...r, url: checked[i]!.url }));
  const config: Record<string, JsonValue> = { ...br.config.recordedConfig };
  // As Mock records them: typed as configured, with every --define and %_buildhost.
  config['macros'] = {
    '%_buildhost': br.config.macros['%_buildhost']!,
    ...(config['macros'] as Record<string, JsonValue>),
  };
  const lock: Lockfile = {
    version: currentLockfileVersion,
    buildroot: { rpms },
    ...(bootstrap ? { bootstrap } : {}),
    config,
  };
  const record = await makeIsomockRecord(br.config, cacheDir, repos, rpms, net);
  checked.forEach((c, i) => {
    if (c.finalUrl !== undefined) record.packages[recordKey(rpms[i]!)]!.final_url = c.finalUrl;
  });
  const network = networkNotes(
    net,
    rpms.map((r) => r.url),
  );
  return { lock, record: network ? { ...record, network } : record };
}

/**
 * isomock's record of the locked files: SHA-256 and size of each RPM as the
 * package manager kept it, or as its URL serves it (package-cache.ts), its
 * repo and, for metalink/mirrorlist repos, the mirror its URL is on.
 */
async function makeIsomockRecord(
  config: BuildConfig,
  cacheDir: string,
  repos: CachedRepo[],
  rpms: LockedRpm[],
  net: RepoTransports,
): Promise<IsomockRecord> {
  const packages: Record<string, RecordedPackage> = {};
  await mapLimit(rpms, defaultJobs, async (rpm) => {
    const repo = repos.find((r) => r.bases.some((b) => rpm.url.startsWith(b)));
    const hashed = await hashLockedRpm(cacheDir, config, repo ? [repo.id] : repos.map((r) => r.id), rpm, {
      transport: net.transportFor(rpm.url),
    });
    packages[recordKey(rpm)] = {
      sigmd5: rpm.sigmd5,
      sha256: hashed.sha256,
      size: hashed.size,
      repo: repo?.id ?? null,
      mirror: repo?.mirrored ? (repo.bases.find((b) => rpm.url.startsWith(b)) ?? null) : null,
    };
  });
  return { isomock_lock_version: recordVersion, packages };
}
