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
import { currentLockfileVersion, type LockedBootstrap, type LockedRpm, type Lockfile } from '../lockfile/lockfile.js';
import type { JsonValue } from '../python/json.js';
import { recordKey, recordVersion, type IsomockRecord, type RecordedPackage } from '../lockfile/record.js';
import { defaultJobs, mapLimit } from '../util/map-limit.js';
import { SafeRoot } from '../util/safe-fs.js';
import { hashLockedRpm, packageCacheDir } from './package-cache.js';
import { reposOf, type Repo } from '../config/dnfconf.js';
import { parseMetalink } from '../repo/metalink.js';
import { parseNevra } from '../rpm/nevra.js';
import { signatureFromPgpsig } from '../rpm/header-pgp.js';
import type { BuildConfig } from './build-config.js';
import type { Buildroot } from './buildroot.js';

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

async function answers(url: string): Promise<string | undefined> {
  if (url.startsWith('file://')) return undefined;
  try {
    const res = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(30_000) });
    return res.ok ? undefined : `HTTP ${res.status}`;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Every URL must answer: a dead one would only fail later, offline. For a
 * metalink or mirrorlist repo, repoquery may name a mirror that is down (as
 * Mock's lockfile then does); the same file on another of the repo's
 * mirrors, in dnf's order, replaces it. Returns the URLs to record.
 */
async function checkUrls(urls: string[], repos: CachedRepo[]): Promise<string[]> {
  const failures: string[] = [];
  const checked = await mapLimit(urls, defaultJobs, async (url) => {
    const problem = await answers(url);
    if (problem === undefined) return url;
    const repo = repos.find((r) => r.mirrored && r.bases.some((b) => url.startsWith(b)));
    const base = repo?.bases.find((b) => url.startsWith(b));
    for (const other of repo?.bases.filter((b) => b !== base) ?? []) {
      const candidate = other + url.slice(base!.length);
      if ((await answers(candidate)) === undefined) return candidate;
    }
    failures.push(`${url} (${problem})`);
    return url;
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

/** The lockfile, and isomock's record of the same files beside it. */
export async function recordLockfile(
  br: Buildroot,
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
  const urls = await checkUrls(
    queried.map((r) => locations.get(`${r.name}.${r.arch}`)!),
    repos,
  );
  const rpms: LockedRpm[] = queried.map((r, i) => ({ ...r, url: urls[i]! }));
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
  return { lock, record: await makeIsomockRecord(br.config, cacheDir, repos, rpms) };
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
): Promise<IsomockRecord> {
  const packages: Record<string, RecordedPackage> = {};
  await mapLimit(rpms, defaultJobs, async (rpm) => {
    const repo = repos.find((r) => r.bases.some((b) => rpm.url.startsWith(b)));
    const hashed = await hashLockedRpm(cacheDir, config, repo ? [repo.id] : repos.map((r) => r.id), rpm);
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
