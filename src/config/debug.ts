/**
 * --debug-config and --debug-config-expanded: Mock prints, sorted by key, each
 * option whose value differs from the built-in default (or that has no
 * default) as `config_opts['key'] = <pprint.pformat(value)>`. In the expanded
 * form both sides are compared after Jinja expansion, as Mock compares them.
 * With --json isomock prints the whole resolved dictionary instead.
 */
import { defaultConfig } from './defaults.js';
import type { LoadedConfig } from './load.js';
import { pformat } from './pformat.js';
import { deepCopy, pyEquals, sortedKeys, toJson, type PyDict, type PyValue } from './pyvalue.js';
import { expandValue } from './template.js';

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

export function renderDebugConfig(loaded: LoadedConfig, opts: DebugConfigOptions = {}): string {
  const config = opts.expanded ? expandAll(loaded.raw) : loaded.raw;
  if (opts.json) {
    const sorted = Object.fromEntries(sortedKeys(config).map((k) => [k, toJson(config[k]!)]));
    return JSON.stringify(sorted, null, 2) + '\n';
  }
  const defaults = opts.expanded ? expandAll(defaultConfig()) : defaultConfig();
  const differs = (key: string, value: PyValue): boolean => !(key in defaults) || !pyEquals(value, defaults[key]!);
  return sortedKeys(config)
    .filter((key) => differs(key, config[key]!))
    .map((key) => `config_opts['${key}'] = ${pformat(config[key]!)}\n`)
    .join('');
}
