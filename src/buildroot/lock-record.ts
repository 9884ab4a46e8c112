/**
 * What --calculate-build-dependencies records: every RPM in the buildroot
 * (as Mock queries it: rpm -qa with its fields, then the package manager's
 * repoquery --location for the URL), the config keys Mock keeps, and the
 * bootstrap image; and isomock's own record beside it (lockfile/record.ts),
 * hashed from the package manager's kept cache, or fetched when it kept none.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { ExitCode, IsomockError } from '../errors.js';
import {
  currentLockfileVersion,
  recordedConfigKeys,
  type LockedBootstrap,
  type LockedRpm,
  type Lockfile,
} from '../lockfile/lockfile.js';
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
import { SafeRoot } from '../util/safe-fs.js';
import { hashLockedRpm, packageCacheDir } from './package-cache.js';
import { reposOf, type Repo } from '../config/dnfconf.js';
import { parseMetalink } from '../repo/metalink.js';
import { parseNevra } from '../rpm/nevra.js';
import { signatureFromPgpsig } from '../rpm/header-pgp.js';
import type { BuildConfig } from './build-config.js';
import type { Buildroot } from './buildroot.js';
import { withUniqueRoot } from '../config/options.js';
import { expandedOption } from '../config/template.js';
import { toJson, type PyDict } from '../python/value.js';

/** Mock's separator: rpm's --qf cannot end records with NUL. */
const sep = '|/@';
const fields = ['name', 'arch', 'license', 'version', 'release', 'epoch', 'sigmd5', 'signature'] as const;
const queryFormat =
  ['%{name}', '%{arch}', '%{license}', '%{version}', '%{release}', '%{epoch}', '%{sigmd5}', '%{sigpgp:pgpsig}'].join(
    sep,
  ) + '\\n';

type Queried = Omit<LockedRpm, 'url'>;

async function queryInstalledForLock(br: Buildroot): Promise<Queried[]> {
  const out = await br.rpm(['-qa', '--qf', queryFormat]);
  return out
    .split('\n')
    .filter(Boolean)
    .sort()
    .map((line) => {
      const values = line.split(sep);
      const rec = Object.fromEntries(fields.map((f, i) => [f, values[i] ?? ''])) as Record<
        (typeof fields)[number],
        string
      >;
      return {
        name: rec.name,
        arch: rec.arch,
        license: rec.license,
        version: rec.version,
        release: rec.release,
        epoch: rec.epoch === '(none)' ? null : rec.epoch,
        sigmd5: rec.sigmd5,
        signature: signatureFromPgpsig(rec.signature),
      };
    })
    .filter((r) => r.name !== 'gpg-pubkey');
}

/** N-V-R.A, the form repoquery takes (and Mock names packages in its errors). */
const nvra = (r: Queried): string => `${r.name}-${r.version}-${r.release}.${r.arch}`;

/** Locations by name.arch, as Mock keys them: from each URL's file name, N-V-R.A.rpm. */
async function locate(br: Buildroot, rpms: Queried[]): Promise<Map<string, string>> {
  const out = await br.repoquery(['repoquery', '-q', '--location', ...rpms.map(nvra)]);
  const byNameArch = new Map<string, string>();
  for (const url of out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[a-z]+:\/\//.test(l))) {
    const parsed = parseNevra(decodeURIComponent(url.split('/').pop()!).replace(/\.rpm$/, ''));
    if (parsed) byNameArch.set(`${parsed.name}.${parsed.arch}`, url);
  }
  return byNameArch;
}

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
  rawConfig: PyDict,
  bootstrap?: LockedBootstrap,
): Promise<{ lock: Lockfile; record: IsomockRecord }> {
  const queried = await queryInstalledForLock(br);
  const locations = await locate(br, queried);
  const missing = queried.filter((r) => !locations.has(`${r.name}.${r.arch}`));
  if (missing.length) {
    throw new IsomockError(
      `cannot get the location of ${missing.map(nvra).join(', ')} from the configured repositories`,
      ExitCode.packageManager,
    );
  }
  const cacheDir = packageCacheDir(br.config, br.pm.name);
  const repos = await cachedRepos(br.config, cacheDir);
  const net = new RepoTransports(br.config, rawConfig, new Map(repos.map((r) => [r.id, r.bases])));
  try {
    return await lockAndRecord(br, rawConfig, bootstrap, queried, locations, repos, cacheDir, net);
  } finally {
    await net.close();
  }
}

async function lockAndRecord(
  br: Buildroot,
  rawConfig: PyDict,
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
  const config: Record<string, JsonValue> = {};
  const expanded = withUniqueRoot(rawConfig);
  for (const key of recordedConfigKeys) {
    const value = expandedOption(expanded, key);
    if (value !== undefined) config[key] = toJson(value) as JsonValue;
  }
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

/** A repository as dnf cached it: its directory and the base URLs its packages can come from. */
interface CachedRepo {
  id: string;
  dir: string;
  bases: string[];
  mirrored: boolean;
}

/** dnf's cache directory of a repo: `<id>-` and 16 hex digits of the SHA-256 of its metalink, mirrorlist or first baseurl. */
function repoCacheDir(repo: Repo): string {
  const key = repo.metalink ?? repo.mirrorlist ?? repo.baseurl[0] ?? repo.id;
  return `${repo.id}-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/** The mirrors dnf chose from: the metalink or mirror list it saved in the repo's cache directory. */
async function cachedMirrors(cacheDir: string, dir: string): Promise<string[]> {
  // Package scriptlets can write the cache (it is bound into the buildroot): a link there is refused, never read through.
  const cache = existsSync(cacheDir)
    ? new SafeRoot(cacheDir, ExitCode.packageManager, "the package manager's cache")
    : undefined;
  for (const file of ['metalink.xml', 'mirrorlist']) {
    const found = cache?.lookup(`${dir}/${file}`);
    if (found?.kind !== 'file') continue;
    const path = found.abs;
    const text = readFileSync(path);
    // dnf accepts a metalink document given as mirrorlist= too.
    if (/<metalink[\s>]/.test(text.subarray(0, 4096).toString('utf8'))) return (await parseMetalink(text)).mirrors;
    return text
      .toString('utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
  }
  return [];
}

async function cachedRepos(config: BuildConfig, cacheDir: string): Promise<CachedRepo[]> {
  return Promise.all(
    // Disabled repos too: --enablerepo may have enabled them for this run.
    reposOf(config.dnfConf).map(async (r) => {
      const dir = repoCacheDir(r);
      const mirrored = r.metalink !== undefined || r.mirrorlist !== undefined;
      const bases = mirrored ? await cachedMirrors(cacheDir, dir) : r.baseurl;
      return { id: r.id, dir, bases: bases.map((b) => (b.endsWith('/') ? b : `${b}/`)), mirrored };
    }),
  );
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
