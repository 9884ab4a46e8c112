/**
 * The dnf.conf held in config_opts['dnf.conf']: an INI text with a [main]
 * section and one section per repository. Parsed as dnf's own parser reads
 * it (indented lines continue a value, `#`/`;` comments, the last duplicate
 * wins), typed the way dnf interprets the options, and rendered back for the
 * dnf that isomock runs.
 */
import { configError } from './source.js';
import { fnmatchRegExp } from '../util/fnmatch.js';

export interface IniSection {
  id: string;
  /** Option values as written (multi-line values keep their newlines). */
  options: Map<string, string>;
}

export interface DnfConf {
  main: IniSection;
  repos: IniSection[];
}

export interface Repo {
  id: string;
  name: string;
  baseurl: string[];
  metalink?: string;
  mirrorlist?: string;
  enabled: boolean;
  priority: number;
  cost: number;
  gpgcheck: boolean;
  gpgkey: string[];
  excludepkgs: string[];
  includepkgs: string[];
  skipIfUnavailable: boolean;
  moduleHotfixes: boolean;
}

/** Where the text came from, for messages (e.g. "config_opts['dnf.conf'] of fedora.cfg"). */
export function parseDnfConf(text: string, source = "config_opts['dnf.conf']"): DnfConf {
  const sections: IniSection[] = [];
  let current: IniSection | undefined;
  let lastKey: string | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trimEnd();
    const where = `${source}, line ${i + 1}`;
    if (line.trim() === '' || /^\s*[#;]/.test(line)) {
      lastKey = undefined;
      return;
    }
    if (/^\s/.test(line) && current && lastKey !== undefined) {
      const prev = current.options.get(lastKey)!;
      current.options.set(lastKey, prev === '' ? line.trim() : `${prev}\n${line.trim()}`);
      return;
    }
    const header = /^\[([^\]]*)\]\s*$/.exec(line.trim());
    if (header) {
      const id = header[1]!.trim();
      if (id === '') throw configError(`${where}: empty section name`);
      current = sections.find((s) => s.id === id) ?? { id, options: new Map() };
      if (!sections.includes(current)) sections.push(current);
      lastKey = undefined;
      return;
    }
    const eq = line.indexOf('=');
    if (eq < 0)
      throw configError(`${where}: expected "option=value" or "[section]", found ${JSON.stringify(line.trim())}`);
    if (!current)
      throw configError(`${where}: option ${JSON.stringify(line.slice(0, eq).trim())} before any [section]`);
    lastKey = line.slice(0, eq).trim();
    current.options.delete(lastKey); // a repeated option replaces the earlier one, in its new place
    current.options.set(lastKey, line.slice(eq + 1).trim());
  });
  const main = sections.find((s) => s.id === 'main') ?? { id: 'main', options: new Map() };
  return { main, repos: sections.filter((s) => s !== main) };
}

export function renderDnfConf(conf: DnfConf): string {
  return [conf.main, ...conf.repos]
    .map((s) => `[${s.id}]\n${[...s.options].map(([k, v]) => `${k}=${v.split('\n').join('\n    ')}\n`).join('')}`)
    .join('\n');
}

export function parseBool(value: string, what: string): boolean {
  const v = value.trim().toLowerCase();
  if (['1', 'yes', 'true', 'on'].includes(v)) return true;
  if (['0', 'no', 'false', 'off'].includes(v)) return false;
  throw configError(`${what}: ${JSON.stringify(value)} is not a boolean (1/0, yes/no, true/false, on/off)`);
}

function parseInt10(value: string, what: string): number {
  if (!/^\s*-?\d+\s*$/.test(value)) throw configError(`${what}: ${JSON.stringify(value)} is not an integer`);
  return Number(value);
}

/** dnf splits list options at whitespace and commas. */
function parseList(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(/[\s,]+/).filter((x) => x !== '');
}

/** One repository with dnf's defaults and the options it takes from [main]. */
function repoOf(conf: DnfConf, section: IniSection): Repo {
  const get = (k: string): string | undefined => section.options.get(k);
  const inherited = (k: string): string | undefined => section.options.get(k) ?? conf.main.options.get(k);
  const what = (k: string): string => `dnf.conf [${section.id}] ${k}`;
  const bool = (k: string, dflt: boolean, inherit = false): boolean => {
    const v = inherit ? inherited(k) : get(k);
    return v === undefined || v === '' ? dflt : parseBool(v, what(k));
  };
  const int = (k: string, dflt: number): number => {
    const v = get(k);
    return v === undefined || v === '' ? dflt : parseInt10(v, what(k));
  };
  const repo: Repo = {
    id: section.id,
    name: get('name') ?? section.id,
    baseurl: parseList(get('baseurl')),
    enabled: bool('enabled', true),
    priority: int('priority', 99),
    cost: int('cost', 1000),
    gpgcheck: bool('gpgcheck', false, true),
    gpgkey: parseList(get('gpgkey')),
    excludepkgs: [
      ...parseList(conf.main.options.get('excludepkgs')),
      ...parseList(get('excludepkgs') ?? get('exclude')),
    ],
    includepkgs: parseList(get('includepkgs')),
    skipIfUnavailable: bool('skip_if_unavailable', false, true),
    moduleHotfixes: bool('module_hotfixes', false),
  };
  const metalink = get('metalink');
  const mirrorlist = get('mirrorlist');
  if (metalink) repo.metalink = metalink;
  if (mirrorlist) repo.mirrorlist = mirrorlist;
  return repo;
}

export function reposOf(conf: DnfConf): Repo[] {
  return conf.repos.map((s) => repoOf(conf, s));
}

/** rpm arch -> dnf's $basearch. */
const basearchTable: [RegExp, string][] = [
  [/^(i[3-6]86|athlon|geode|pentium[34])$/, 'i386'],
  [/^(x86_64(_v[234])?|amd64|ia32e)$/, 'x86_64'],
  [/^(armv[5-7]te?j?l|armv5tl)$/, 'arm'],
  [/^(armv[67]h[n]?l|armv8hl)$/, 'armhfp'],
  [/^ppc64(iseries|p7|pseries)?$/, 'ppc64'],
  [/^(sparcv[89]v?|sparc)$/, 'sparc'],
  [/^sparc64v?$/, 'sparc64'],
  [/^alpha/, 'alpha'],
  [/^sh4a?$/, 'sh4'],
];

export function basearch(arch: string): string {
  return basearchTable.find(([re]) => re.test(arch))?.[1] ?? arch;
}

/** dnf's variable substitution: $name and ${name}; unknown variables stay as written. */
export function substituteVars(text: string, vars: Record<string, string>): string {
  return text.replace(/\$(?:\{(\w+)\}|(\w+))/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    return Object.prototype.hasOwnProperty.call(vars, name) ? vars[name]! : whole;
  });
}

/**
 * Applies Mock's config_opts['enable_disable_repos'] (the --enablerepo and
 * --disablerepo options in command-line order, which Mock hands to dnf).
 */
export function applyRepoToggles(conf: DnfConf, toggles: string[]): void {
  for (let i = 0; i + 1 < toggles.length; i += 2) {
    const enable = toggles[i] === '--enablerepo';
    for (const pattern of toggles[i + 1]!.split(',').filter((p) => p !== '')) {
      const re = fnmatchRegExp(pattern);
      const hits = conf.repos.filter((r) => re.test(r.id));
      if (enable && hits.length === 0 && !/[*?[]/.test(pattern)) {
        // dnf refuses to enable a repository it does not know; disabling one is only a warning there.
        throw configError(`${toggles[i]} ${pattern}: no repository with that id in dnf.conf`);
      }
      for (const r of hits) r.options.set('enabled', enable ? '1' : '0');
    }
  }
}
