/**
 * --debug-config and --debug-config-expanded: Mock prints, sorted by key, each
 * option whose value differs from the built-in default (or that has no
 * default) as `config_opts['key'] = <pprint.pformat(value)>`. In the expanded
 * form both sides are compared after Jinja expansion, as Mock compares them.
 * With --json isomock prints the whole resolved dictionary instead.
 *
 * Mock prints after it has set up the buildroot, so the options are shown as
 * the buildroot left them (buildrootView): the --uniqueext root name, and each
 * plugin's options with the buildroot's directories filled in. Its defaults
 * are computed then too: as root (chrootuid 0) and under the target's
 * personality (setarch), which is what uname reports as host_arch.
 */
import { personalityMachine } from './arch.js';
import { defaultConfig } from './defaults.js';
import type { LoadedConfig } from './load.js';
import { withUniqueRoot } from './options.js';
import { pformat } from '../python/pformat.js';
import { deepCopy, isDict, pyEquals, pyStr, sortedKeys, toJson, type PyDict, type PyValue } from '../python/value.js';
import { expandedOption, expandValue } from './template.js';

export interface DebugConfigOptions {
  expanded?: boolean;
  json?: boolean;
}

/** Every option, expanded as Mock would hand it out (the caller's dictionary is left as it is). */
export function expandAll(raw: PyDict): PyDict {
  const copy = deepCopy(raw) as PyDict;
  const out = Object.create(null) as PyDict;
  for (const key of sortedKeys(copy)) out[key] = expandValue(copy[key]!, copy, key);
  return out;
}

/** Mock's Buildroot() and init_plugins(): what they write into the options. */
function buildrootView(raw: PyDict): PyDict {
  const config = withUniqueRoot(raw);
  const text = (key: string): string => pyStr(expandedOption(config, key) ?? null);
  const sharedRoot = pyStr(expandedOption(raw, 'root') ?? null);
  const dirs: PyDict = Object.assign(Object.create(null) as PyDict, {
    basedir: `${text('basedir')}/${text('root')}`.replace(/\/{2,}/g, '/'),
    cache_topdir: text('cache_topdir'),
    cachedir: `${text('cache_topdir')}/${sharedRoot}`.replace(/\/{2,}/g, '/'),
    root: sharedRoot,
    resultdir: text('resultdir'),
  });
  const plugins = config['plugin_conf'];
  if (isDict(plugins)) {
    for (const key of Object.keys(plugins)) {
      const opts = plugins[key]!;
      if (key.endsWith('_opts') && isDict(opts)) Object.assign(opts, dirs);
    }
  }
  return config;
}

/** Mock's defaults as its --debug-config computes them; read only, so kept per form and host_arch. */
const defaultsSeen = new Map<string, PyDict>();

function debugDefaults(config: PyDict, expanded: boolean): PyDict {
  const defaults = defaultConfig(0);
  const host = personalityMachine(
    pyStr(defaults['host_arch'] ?? null),
    pyStr(expandedOption(config, 'target_arch') ?? null),
  );
  const key = `${expanded} ${host}`;
  let seen = defaultsSeen.get(key);
  if (!seen) {
    defaults['host_arch'] = host;
    defaultsSeen.set(key, (seen = expanded ? expandAll(defaults) : defaults));
  }
  return seen;
}

export function renderDebugConfig(loaded: LoadedConfig, opts: DebugConfigOptions = {}): string {
  const view = buildrootView(loaded.raw);
  const config = opts.expanded ? expandAll(view) : view;
  if (opts.json) {
    const sorted = Object.fromEntries(sortedKeys(config).map((k) => [k, toJson(config[k]!)]));
    return JSON.stringify(sorted, null, 2) + '\n';
  }
  const defaults = debugDefaults(view, opts.expanded === true);
  const differs = (key: string, value: PyValue): boolean => !(key in defaults) || !pyEquals(value, defaults[key]!);
  return sortedKeys(config)
    .filter((key) => differs(key, config[key]!))
    .map((key) => `config_opts['${key}'] = ${pformat(config[key]!)}\n`)
    .join('');
}
