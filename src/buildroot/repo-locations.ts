/**
 * Where each installed package sits in its repository: the string the
 * package manager's `repoquery --location` prints (and Mock records as the
 * lockfile's url), read from the metadata that package manager cached for
 * this buildroot, with no package-manager run. A repository's cache
 * directory (dnf4's and dnf5's layout: `<id>-<16 hex>`) holds repomd.xml,
 * the primary file it names (which must match its checksum and size), and,
 * for a metalink or mirrorlist repository, the list dnf chose mirrors from.
 * A package's URL is its `xml:base`, else the repo's first mirror or first
 * baseurl, joined with `location_href` as dnf joins them (os.path.join).
 * Package scriptlets can write the cache (it is bound into the buildroot):
 * it is read through SafeRoot, no link followed; the caller still checks
 * every URL and hashes every file against the rpm database's digests.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import { applyRepoToggles, reposOf, type DnfConf, type Repo } from '../config/dnfconf.js';
import { verifyStream } from '../repo/checksum.js';
import { parseMetalink } from '../repo/metalink.js';
import { readPrimary } from '../repo/primary.js';
import { parseRepoMd } from '../repo/repomd.js';
import { XmlSyntaxError } from '../repo/xml-stream.js';
import { decompress } from '../util/decompress.js';
import { SafeRoot } from '../util/safe-fs.js';
import { parseNevra } from '../rpm/nevra.js';
import type { BuildConfig } from './build-config.js';

/** A repository as the package manager cached it: its directory and the base URLs its packages can come from. */
export interface CachedRepo {
  id: string;
  dir: string;
  /** Each ending in '/'. */
  bases: string[];
  mirrored: boolean;
  /** Enabled for this run: dnf.conf, then the config's --enablerepo/--disablerepo. */
  enabled: boolean;
}

/** The package as rpm -qa reports it. */
export interface InstalledNvra {
  name: string;
  version: string;
  release: string;
  arch: string;
}

/** dnf's cache directory of a repo: `<id>-` and 16 hex digits of the SHA-256 of its metalink, mirrorlist or first baseurl. */
function repoCacheDir(repo: Repo): string {
  const key = repo.metalink ?? repo.mirrorlist ?? repo.baseurl[0] ?? repo.id;
  return `${repo.id}-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/** The mirrors dnf chose from: the metalink or mirror list it saved in the repo's cache directory. */
async function cachedMirrors(cache: SafeRoot | undefined, dir: string): Promise<string[]> {
  for (const file of ['metalink.xml', 'mirrorlist']) {
    if (cache?.lookup(`${dir}/${file}`)?.kind !== 'file') continue;
    const text = cache.readFile(`${dir}/${file}`)!;
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

/** The config's dnf.conf with --enablerepo/--disablerepo applied, as dnf sees it for the run. */
function toggled(conf: DnfConf, toggles: string[]): DnfConf {
  const copy = { main: conf.main, repos: conf.repos.map((s) => ({ id: s.id, options: new Map(s.options) })) };
  applyRepoToggles(copy, toggles);
  return copy;
}

/** The package cache, read without following a link; undefined when the package manager made none. */
export function openCache(cacheDir: string): SafeRoot | undefined {
  return existsSync(cacheDir)
    ? new SafeRoot(cacheDir, ExitCode.packageManager, "the package manager's cache")
    : undefined;
}

/** Every repository of the config (disabled ones too: the record names repos by URL), as cached. */
export async function cachedRepos(config: BuildConfig, cache: SafeRoot | undefined): Promise<CachedRepo[]> {
  return Promise.all(
    reposOf(toggled(config.dnfConf, config.enableDisableRepos)).map(async (r) => {
      const dir = repoCacheDir(r);
      const mirrored = r.metalink !== undefined || r.mirrorlist !== undefined;
      const bases = mirrored ? await cachedMirrors(cache, dir) : r.baseurl;
      return {
        id: r.id,
        dir,
        bases: bases.map((b) => (b.endsWith('/') ? b : `${b}/`)),
        mirrored,
        enabled: r.enabled,
      };
    }),
  );
}

/** Python's os.path.join(base, href.lstrip('/')), which dnf's remote_location() uses. */
function joinLocation(base: string, href: string): string {
  return (base.endsWith('/') ? base : `${base}/`) + href.replace(/^\/+/, '');
}

/** The URL's last component, percent-decoded (as is, when it is not valid percent-encoding). */
function fileName(url: string): string {
  try {
    return decodeURIComponent(basename(url));
  } catch {
    return basename(url);
  }
}

const nvraKey = (p: InstalledNvra): string => `${p.name}-${p.version}-${p.release}.${p.arch}`;

/** Streams one repo's cached primary (checked against its repomd.xml) into `onPackage`. */
async function readCachedPrimary(
  cache: SafeRoot,
  repo: CachedRepo,
  onPackage: Parameters<typeof readPrimary>[1],
): Promise<void> {
  const what = (file: string): string => `${repo.id}'s cached ${file}`;
  const repomdXml = cache.readFile(`${repo.dir}/repodata/repomd.xml`);
  if (!repomdXml) throw new IsomockError(`${what('repomd.xml')}: not in the package cache`, ExitCode.packageManager);
  try {
    const primary = (await parseRepoMd(repomdXml)).records.get('primary');
    if (!primary) throw new IsomockError(`${what('repomd.xml')}: lists no primary`, ExitCode.packageManager);
    const name = basename(primary.href);
    const raw = cache.readFile(`${repo.dir}/repodata/${name}`);
    if (!raw) throw new IsomockError(`${what(name)}: not in the package cache`, ExitCode.packageManager);
    const whole = (async function* () {
      yield raw;
    })();
    const open = verifyStream(
      decompress(verifyStream(whole, primary.checksum, primary.size, what(name))),
      primary.openChecksum,
      primary.openSize,
      `${what(name)} (uncompressed)`,
    );
    await readPrimary(open, onPackage);
  } catch (error) {
    if (error instanceof IsomockError) throw error;
    const how = error instanceof XmlSyntaxError ? 'malformed XML' : 'unreadable';
    throw new IsomockError(`${what('metadata')}: ${how}: ${(error as Error).message}`, ExitCode.packageManager);
  }
}

/**
 * Each installed package's URL by name.arch, as Mock keys repoquery's answer:
 * every enabled repo offering that N-V-R.A (any epoch, as repoquery matches
 * it) gives a line, dnf prints its lines sorted, and Mock keeps the last line
 * per name.arch of the URL's file name. A package no enabled repo offers has
 * no entry.
 */
export async function locateInMetadata(
  cache: SafeRoot | undefined,
  repos: CachedRepo[],
  installed: InstalledNvra[],
): Promise<Map<string, string>> {
  const wanted = new Set(installed.map(nvraKey));
  const lines = new Set<string>();
  for (const repo of repos.filter((r) => r.enabled)) {
    const base = repo.bases[0];
    if (!cache || base === undefined) continue;
    await readCachedPrimary(cache, repo, (pkg) => {
      if (wanted.has(nvraKey(pkg))) lines.add(joinLocation(pkg.locationBase ?? base, pkg.locationHref));
    });
  }
  const byNameArch = new Map<string, string>();
  for (const url of [...lines].sort()) {
    const parsed = parseNevra(fileName(url).replace(/\.rpm$/, ''));
    if (parsed) byNameArch.set(`${parsed.name}.${parsed.arch}`, url);
  }
  return byNameArch;
}
