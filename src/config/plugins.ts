/**
 * Which of Mock's plugins a build runs, from the loaded config's
 * plugin_conf (pure: reads the config, spawns nothing). isomock runs
 * yum_cache, package_state, hw_info, buildroot_lock, expand_spec and
 * chroot_scan as Mock does; selinux does nothing on a host without SELinux,
 * as in Mock; mount and bind_mount with no dirs have nothing to do. Of the
 * default-on ones, root_cache is not implemented: the build goes on and says
 * so in one line. Any other plugin enabled (by the config or
 * --enable-plugin), and mount/bind_mount given dirs, are refused: exit 5,
 * "not supported by isomock" - never silently skipped.
 */
import { ExitCode, IsomockError } from '../errors.js';
import { isDict, pyStr, truthy, type PyDict, type PyValue } from '../python/value.js';
import { expandedOption } from './template.js';

export interface PluginPlan {
  hwInfo: boolean;
  installedPkgs: boolean;
  availablePkgs: boolean;
  expandSpec?: { rpmspecOpts: string[] };
  chrootScan?: { regexes: RegExp[]; onlyFailed: boolean; writeTar: boolean };
  /** One line each: a default-on plugin isomock does not run, and what happens instead. */
  notices: string[];
}

const implemented = new Set(['yum_cache', 'package_state', 'hw_info', 'buildroot_lock', 'expand_spec', 'chroot_scan']);
/** Mock's hosts without SELinux skip the plugin too. */
const noOpHere = new Set(['selinux']);
/** Default-on plugins isomock does not run: the build goes on, with this said once. */
const skippedDefaults: Record<string, string> = {
  root_cache: 'the buildroot is installed afresh, no root cache tarball is made or used',
};
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

export function pluginPlan(config: PyDict): PluginPlan {
  const confValue = expandedOption(config, 'plugin_conf');
  const conf: PyDict = isDict(confValue) ? confValue : Object.create(null);
  const on = (p: string): boolean => truthy(conf[`${p}_enable`] ?? false);
  const notices: string[] = [];
  for (const key of Object.keys(conf)) {
    const m = /^(.+)_enable$/.exec(key);
    const plugin = m?.[1];
    if (plugin === undefined || !on(plugin) || implemented.has(plugin) || noOpHere.has(plugin)) continue;
    if (dirsPlugins.has(plugin) && isEmpty(opts(conf, plugin)['dirs'])) continue;
    const why = skippedDefaults[plugin];
    if (why !== undefined) {
      notices.push(`plugin ${plugin} is not supported by isomock: ${why}`);
      continue;
    }
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
    notices,
  };
}
