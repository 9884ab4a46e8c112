/**
 * Command-line options applied to a loaded config, in the order and with the
 * value parsing of Mock's set_config_opts_per_cmdline(). Templating is on at
 * this point in Mock, so an option read here is expanded in place (e.g.
 * `--addrepo` appends to the already expanded dnf.conf), as it is there.
 */
import { isAbsolute, join, relative, resolve } from 'node:path';
import { CommandLineError } from '../errors.js';
import { isDict, type PyDict, type PyValue } from '../python/value.js';
import { optionAliases } from '../python/exec.js';
import { expandedOption, expandString } from './template.js';
import { configError } from './source.js';

export interface CmdlineOptions {
  /** --define 'MACRO EXPR', in order. */
  defines?: string[];
  /** --with / --without bconds. */
  with?: string[];
  without?: string[];
  /** --config-opts KEY=VALUE, in order. */
  configOpts?: string[];
  /** --addrepo URL-or-path, in order. */
  addrepo?: string[];
  /** --enablerepo/--disablerepo as given: ['--enablerepo', 'id', '--disablerepo', 'id2', ...]. */
  repoToggles?: string[];
  resultdir?: string;
  rootdir?: string;
  uniqueext?: string;
  arch?: string;
  target?: string;
  isolation?: string;
  enableNetwork?: boolean;
  offline?: boolean;
  nocheck?: boolean;
  noClean?: boolean;
  calculatedeps?: boolean;
  /** --bootstrap-chroot / --no-bootstrap-chroot. */
  bootstrapChroot?: boolean;
  /** --use-bootstrap-image / --no-bootstrap-image. */
  bootstrapImage?: boolean;
  /** --additional-package, in order. */
  additionalPackages?: string[];
  /** --enable-plugin / --disable-plugin as [name, enabled], in order. */
  plugins?: [string, boolean][];
  /** --plugin-option PLUGIN:KEY=VALUE, in order. */
  pluginOptions?: string[];
  /** --cleanup-after / -N, --no-cleanup-after. */
  cleanupAfter?: boolean;
  /** --rpmbuild_timeout SECONDS. */
  rpmbuildTimeout?: number;
  /** Mock's verbosity: 0 with --quiet, 2 with --verbose, else 1. */
  verbose?: number;
  /** Whether stderr is a terminal: Mock's print_main_output default follows it. */
  stderrIsTty?: boolean;
  /** --cache-alterations. */
  cacheAlterations?: boolean;
  /** --forcearch ARCH. */
  forcearch?: string;
  /** Koji's obsolete spellings: --old-chroot (false) and --new-chroot (true) set use_nspawn; --isolation wins. */
  newChroot?: boolean;
  /** kojid's --bootstrap-image-ready: bootstrap_image_ready = True. */
  bootstrapImageReady?: boolean;
  /** --yum / --dnf: package_manager. */
  packageManager?: string;
}

/** Mock's --config-opts value parsing: booleans, None and ints are recognised, a repeated key makes a list. */
export function parseConfigOpts(items: string[]): Map<string, PyValue> {
  const out = new Map<string, PyValue>();
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq < 0) throw new CommandLineError(`--config-opts ${item}: expected KEY=VALUE`);
    const key = item.slice(0, eq);
    const text = item.slice(eq + 1);
    let value: PyValue = text;
    if (text === 'true' || text === 'True') value = true;
    else if (text === 'false' || text === 'False') value = false;
    else if (text === 'none' || text === 'None') value = null;
    else if (/^\s*[+-]?\d(?:_?\d)*\s*$/.test(text) && Number.isSafeInteger(Number(text.replace(/_/g, '')))) {
      value = Number(text.replace(/_/g, ''));
    }
    const prev = out.get(key);
    if (prev === undefined && !out.has(key)) out.set(key, value);
    else if (Array.isArray(prev)) prev.push(value);
    // Mock's documented trick: the key given twice with an empty second value makes a one-item list.
    else out.set(key, value === '' ? [prev!] : [prev!, value]);
  }
  return out;
}

/** Mock's repo id for --addrepo: the URL without its scheme, '/' as '_', other punctuation dropped. */
function generateRepoId(baseurl: string, taken: string[]): string {
  const parts = baseurl.split('://');
  const base = (parts.length > 1 ? parts.slice(1).join('/') : baseurl)
    .replace(/\//g, '_')
    .replace(/[^a-zA-Z0-9_]/g, '');
  let id = base;
  for (let i = 1; taken.includes(id); i++) id = base + String(i);
  taken.push(id);
  return id;
}

function expanduser(p: string, home: string): string {
  return p === '~' || p.startsWith('~/') ? join(home, p.slice(1)) : p;
}

function setMacro(config: PyDict, definition: string): void {
  const text = definition.trim();
  const sp = text.indexOf(' ');
  if (sp < 0) throw new CommandLineError(`Bad option for '--define' (${definition}).  Use --define 'macro expr'`);
  const name = text.slice(0, sp);
  const macros = expandedOption(config, 'macros');
  if (!isDict(macros)) throw configError("config_opts['macros'] must be a dict");
  macros[name.startsWith('%') ? name : `%${name}`] = text.slice(sp + 1);
}

export function applyCmdline(config: PyDict, opts: CmdlineOptions, home: string): void {
  for (const [k, v] of parseConfigOpts(opts.configOpts ?? [])) config[optionAliases.get(k) ?? k] = v;
  config['verbose'] = opts.verbose ?? 1;
  if (config['print_main_output'] == null)
    config['print_main_output'] = (opts.verbose ?? 1) > 0 && (opts.stderrIsTty ?? false);
  if (opts.arch) config['target_arch'] = opts.arch;
  if (opts.target) {
    if (opts.target.includes(','))
      throw new CommandLineError(`--target option accepts only one arch. Invalid: ${opts.target}`);
    config['rpmbuild_arch'] = opts.target;
  } else if (expandedOption(config, 'rpmbuild_arch') == null)
    config['rpmbuild_arch'] = expandedOption(config, 'target_arch') ?? null;
  if (!expandedOption(config, 'repo_arch')) {
    const target = expandedOption(config, 'target_arch') ?? null;
    const map = expandedOption(config, 'repo_arch_map');
    config['repo_arch'] = isDict(map) && typeof target === 'string' && target in map ? map[target]! : target;
  }
  if (opts.forcearch) config['forcearch'] = opts.forcearch;
  if (opts.noClean) config['clean'] = false;
  if (opts.nocheck) config['check'] = false;
  const bcond = (words: string[] | undefined, kind: string): string[] =>
    (words ?? []).map((w) => `_${kind}_${w.replace(/-/g, '_')} --${kind}-${w}`);
  for (const d of [...(opts.defines ?? []), ...bcond(opts.with, 'with'), ...bcond(opts.without, 'without')])
    setMacro(config, d);
  if (opts.resultdir) config['resultdir'] = expanduser(opts.resultdir, home);
  if (opts.rootdir) config['rootdir'] = expanduser(opts.rootdir, home);
  if (opts.uniqueext) config['unique-ext'] = opts.uniqueext;
  if (opts.newChroot !== undefined && opts.isolation === undefined) config['use_nspawn'] = opts.newChroot;
  if (opts.isolation !== undefined) {
    const useNspawn = { simple: false, nspawn: true, auto: null }[opts.isolation];
    if (useNspawn === undefined)
      throw new CommandLineError(`Bad option for '--isolation'. Unknown value: ${opts.isolation}`);
    config['isolation'] = opts.isolation;
    config['use_nspawn'] = useNspawn;
  }
  if (opts.enableNetwork) {
    config['rpmbuild_networking'] = true;
    config['use_host_resolv'] = true;
  }
  if (!('root' in config)) {
    throw configError("Error in configuration - option config_opts['root'] must be present in your config.");
  }
  // A result dir inside the chroot's own directory would be wiped by the cleanup.
  const basechroot = join(String(expandedOption(config, 'basedir')), String(expandedOption(config, 'root')));
  const resultdir = resolve(String(expandedOption(config, 'resultdir')));
  const rel = relative(basechroot, resultdir);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    config['cleanup_on_success'] = false;
    config['cleanup_on_failure'] = false;
  }
  config['cache_alterations'] = opts.cacheAlterations ?? false;
  config['online'] = !opts.offline;
  if (opts.packageManager) config['package_manager'] = opts.packageManager;
  if (opts.bootstrapImageReady) config['bootstrap_image_ready'] = true;
  config['enable_disable_repos'] = opts.repoToggles ?? [];
  config['additional_packages'] = [...(opts.additionalPackages ?? [])];
  if (opts.bootstrapChroot !== undefined) config['use_bootstrap'] = opts.bootstrapChroot;
  if (opts.bootstrapImage !== undefined) {
    config['use_bootstrap_image'] = opts.bootstrapImage;
    // As in Mock: an image for the bootstrap implies having a bootstrap.
    if (opts.bootstrapImage) config['use_bootstrap'] = true;
  }
  if (opts.cleanupAfter !== undefined) config['cleanup_on_success'] = config['cleanup_on_failure'] = opts.cleanupAfter;
  if (opts.rpmbuildTimeout !== undefined) config['rpmbuild_timeout'] = opts.rpmbuildTimeout;
  applyPluginOptions(config, opts);
  config['calculatedeps'] = opts.calculatedeps ? true : null;
  if (opts.calculatedeps) {
    const plugins = expandedOption(config, 'plugin_conf');
    if (isDict(plugins)) plugins['buildroot_lock_enable'] = true;
  }
  addRepos(config, opts.addrepo ?? []);
}

/** --enable-plugin, --disable-plugin and --plugin-option PLUGIN:KEY=VALUE into plugin_conf, as Mock does. */
function applyPluginOptions(config: PyDict, opts: CmdlineOptions): void {
  const conf = expandedOption(config, 'plugin_conf');
  if (!isDict(conf)) return;
  for (const [name, enabled] of opts.plugins ?? []) conf[`${name}_enable`] = enabled;
  for (const item of opts.pluginOptions ?? []) {
    const m = /^([^:]+):([^=]+)=(.*)$/.exec(item);
    if (!m) throw new CommandLineError(`--plugin-option: expected PLUGIN:KEY=VALUE, got '${item}'`);
    const [, plugin, key, value] = m as unknown as [string, string, string, string];
    const options = conf[`${plugin}_opts`];
    const dict = isDict(options) ? options : (conf[`${plugin}_opts`] = Object.create(null) as PyDict);
    (dict as PyDict)[key] = parseConfigOpts([`x=${value}`]).get('x') ?? value;
  }
}

function addRepos(config: PyDict, urls: string[]): void {
  const taken: string[] = [];
  for (const url of urls) {
    const id = generateRepoId(url, taken);
    const pm = String(expandedOption(config, 'package_manager'));
    const key = optionAliases.get(`${pm}.conf`) ?? `${pm}.conf`;
    const current = config[key];
    if (typeof current !== 'string')
      throw configError(`config_opts['${key}'] is not set: --addrepo needs a dnf.conf to add to`);
    config[key] =
      expandString(current, config, key) +
      `\n\n[${id}]\nname=${url}\nbaseurl=${url}\nenabled=1\nskip_if_unavailable=0\nmetadata_expire=0\ngpgcheck=0\ncost=1\nbest=1\n`;
  }
}
