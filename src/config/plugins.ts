/**
 * Which of Mock's plugins a build runs, from the loaded config's
 * plugin_conf (pure: reads the config, spawns nothing). isomock runs
 * root_cache, yum_cache, package_state, hw_info, buildroot_lock, expand_spec
 * and chroot_scan as Mock does; selinux does nothing on a host without
 * SELinux, as in Mock; mount and bind_mount with no dirs have nothing to do.
 * Any other plugin enabled (by the config or --enable-plugin), and
 * mount/bind_mount given dirs, are refused: exit 5, "not supported by
 * isomock" - never silently skipped. root_cache's options reach host tools
 * (tar, its compressor) only as checked here: a plain absolute dir, a
 * compressor from a fixed list, an extension that is a file-name suffix.
 */
import { ExitCode, IsomockError } from '../errors.js';
import { badHostPath } from '../util/untrusted-text.js';
import { isDict, pyStr, truthy, type PyDict, type PyValue } from '../python/value.js';
import { expandedOption } from './template.js';

export interface PluginPlan {
  hwInfo: boolean;
  installedPkgs: boolean;
  availablePkgs: boolean;
  expandSpec?: { rpmspecOpts: string[] };
  chrootScan?: { regexes: RegExp[]; onlyFailed: boolean; writeTar: boolean };
  rootCache?: RootCachePlan;
}

/** Mock's root_cache_opts, checked (buildroot/root-cache.ts acts on them). */
export interface RootCachePlan {
  /** The cache's directory (`dir`, expanded; no trailing slash). */
  dir: string;
  ageCheck: boolean;
  maxAgeDays: number;
  /** `compress_program` (one of compressors), or undefined for a plain tar without `extension`. */
  compress?: Compressor;
  /** `decompress_program`; undefined: the compressor actually used (GNU tar adds -d itself). */
  decompress?: Compressor;
  /** The tarball's name: cache.tar plus `extension` when compressed. */
  fileName: string;
  /** `exclude_dirs`, each a tar --exclude pattern and recreated (empty) after an unpack. */
  excludeDirs: string[];
  /** Mock's --cache-alterations: the cache is made again after every init, not only of a fresh root. */
  cacheAlterations: boolean;
}

/** The compress programs root_cache may run (tar starts them from the host's /usr/bin). */
const compressors = ['pigz', 'gzip', 'zstd', 'xz', 'bzip2'] as const;
export type Compressor = (typeof compressors)[number];

const implemented = new Set([
  'root_cache',
  'yum_cache',
  'package_state',
  'hw_info',
  'buildroot_lock',
  'expand_spec',
  'chroot_scan',
]);
/** Mock's hosts without SELinux skip the plugin too. */
const noOpHere = new Set(['selinux']);
/** Plugins that do nothing while their `dirs` is empty. */
const dirsPlugins = new Set(['mount', 'bind_mount']);

function opts(conf: PyDict, plugin: string): PyDict {
  const o = conf[`${plugin}_opts`];
  return isDict(o) ? o : Object.create(null);
}

const isEmpty = (v: PyValue | undefined): boolean =>
  v === undefined || v === null || (Array.isArray(v) ? v.length === 0 : isDict(v) ? Object.keys(v).length === 0 : !v);

/** Mock's chroot_scan regexes are Python `re`; the ones JavaScript reads differently are refused. */
function pythonRegex(source: string): RegExp {
  if (/\(\?P|\(\?[aiLmsux]+\)|\\[AZ]/.test(source))
    throw new IsomockError(
      `chroot_scan regex ${JSON.stringify(source)}: Python-only syntax is not supported by isomock`,
      ExitCode.badCmdline,
    );
  try {
    return new RegExp(source, 'u');
  } catch (err) {
    throw new IsomockError(`chroot_scan regex ${JSON.stringify(source)}: ${(err as Error).message}`, ExitCode.config);
  }
}

/** Mock's chroot_scan compares str(option) with 'True'. */
const pyTrue = (v: PyValue | undefined): boolean => v !== undefined && pyStr(v) === 'True';

const refuseOption = (key: string, value: PyValue | undefined, why: string): IsomockError =>
  new IsomockError(
    `root_cache_opts['${key}'] ${value === undefined ? '' : `${pyStr(value)} `}${why}: not supported by isomock`,
    ExitCode.badCmdline,
  );

function compressor(o: PyDict, key: string): Compressor | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') return undefined;
  const name = pyStr(v);
  if (!(compressors as readonly string[]).includes(name))
    throw refuseOption(key, v, `is not one of ${compressors.join(', ')}`);
  return name as Compressor;
}

/** Mock's RootCache.__init__, with each option checked before it can reach tar. */
function rootCachePlan(config: PyDict, o: PyDict): RootCachePlan {
  // Mock expands `dir % root_cache_opts`; only a dir without % reads the same either way.
  const dir = pyStr(o['dir'] ?? '')
    .replace(/\/{2,}/g, '/')
    .replace(/(.)\/$/, '$1');
  const bad = badHostPath(dir);
  if (bad) throw refuseOption('dir', o['dir'], bad);
  const tar = expandedOption(config, 'tar');
  if (tar !== undefined && pyStr(tar) !== 'gnutar')
    throw new IsomockError(
      `config_opts['tar'] ${pyStr(tar)}: root_cache runs GNU tar only: not supported by isomock`,
      ExitCode.badCmdline,
    );
  const compress = compressor(o, 'compress_program');
  const extension = compress ? pyStr(o['extension'] ?? '') : '';
  if (!/^[A-Za-z0-9._+-]*$/.test(extension))
    throw refuseOption('extension', o['extension'], 'is not a file-name suffix');
  const maxAge = o['max_age_days'];
  if (typeof maxAge !== 'number') throw refuseOption('max_age_days', maxAge, 'is not a number');
  const excludes = o['exclude_dirs'];
  const excludeDirs = (Array.isArray(excludes) ? excludes : []).map(pyStr);
  for (const d of excludeDirs) {
    const rel = d.replace(/^\.?\/+/, '');
    if (!rel || badHostPath(`/${rel}`) || /[*?[\\]/.test(rel))
      throw refuseOption('exclude_dirs', d, 'is not a plain path inside the root');
  }
  return {
    dir,
    ageCheck: truthy(o['age_check'] ?? true),
    maxAgeDays: maxAge,
    ...(compress && { compress }),
    ...(compress && compressor(o, 'decompress_program') && { decompress: compressor(o, 'decompress_program') }),
    fileName: `cache.tar${extension}`,
    excludeDirs,
    cacheAlterations: truthy(expandedOption(config, 'cache_alterations') ?? false),
  };
}

export function pluginPlan(config: PyDict): PluginPlan {
  const confValue = expandedOption(config, 'plugin_conf');
  const conf: PyDict = isDict(confValue) ? confValue : Object.create(null);
  const on = (p: string): boolean => truthy(conf[`${p}_enable`] ?? false);
  for (const key of Object.keys(conf)) {
    const m = /^(.+)_enable$/.exec(key);
    const plugin = m?.[1];
    if (plugin === undefined || !on(plugin) || implemented.has(plugin) || noOpHere.has(plugin)) continue;
    if (dirsPlugins.has(plugin) && isEmpty(opts(conf, plugin)['dirs'])) continue;
    throw new IsomockError(`plugin ${plugin} (plugin_conf['${key}']) is not supported by isomock`, ExitCode.badCmdline);
  }
  const state = opts(conf, 'package_state');
  const scan = opts(conf, 'chroot_scan');
  const regexes = scan['regexes'];
  const rpmspecOpts = opts(conf, 'expand_spec')['rpmspec_opts'];
  return {
    hwInfo: on('hw_info'),
    installedPkgs: on('package_state') && truthy(state['installed_pkgs'] ?? false),
    availablePkgs:
      on('package_state') &&
      truthy(state['available_pkgs'] ?? false) &&
      truthy(expandedOption(config, 'online') ?? true),
    ...(on('expand_spec') && { expandSpec: { rpmspecOpts: Array.isArray(rpmspecOpts) ? rpmspecOpts.map(pyStr) : [] } }),
    ...(on('chroot_scan') && {
      chrootScan: {
        regexes: (Array.isArray(regexes) ? regexes.map(pyStr) : []).map(pythonRegex),
        onlyFailed: pyTrue(scan['only_failed']),
        writeTar: pyTrue(scan['write_tar']),
      },
    }),
    ...(on('root_cache') && { rootCache: rootCachePlan(config, opts(conf, 'root_cache')) }),
  };
}
