/**
 * What the buildroot engine reads from a loaded Mock configuration: the
 * config layer's typed options (config/options.ts) plus the few the engine
 * alone needs (users, environment, extra packages).
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { mockOptions, withUniqueRoot, type MockOptions } from '../config/options.js';
import { expandedOption } from '../config/template.js';
import { isDict, pyStr, toJson, truthy, type PyDict, type PyValue } from '../python/value.js';
import type { JsonValue } from '../python/json.js';
import { recordedConfigKeys } from '../lockfile/lockfile.js';
import { configError } from '../config/source.js';
import { badHostPath, hostPathMacros } from '../util/untrusted-text.js';
import { pmConfigFrom, type PmConfig } from './pkgmgr.js';
import { pluginPlan, type PluginPlan } from '../config/plugins.js';
import type { CertOptions } from './bootstrap-certs.js';

export interface BuildConfig extends MockOptions {
  /** Per-root cache (package manager cache). */
  cachedir: string;
  /** config_paths: every config file read (root_cache's cache is older than none of them). */
  configPaths: string[];
  /** Mock's update_before_build: a buildroot restored from the root cache is updated before the build. */
  updateBeforeBuild: boolean;
  /** Mock's clean (false with --no-clean or --short-circuit). */
  cleanFirst: boolean;
  /** chroot_additional_packages: installed with chroot_setup_cmd, so part of a root cache. */
  chrootAdditionalPackages: string[];
  /** --additional-package: installed into the set-up root before the build (Mock's preexisting deps), never cached. */
  additionalPackages: string[];
  useHostResolv: boolean;
  chrootUser: string;
  chrootGroup: string;
  chrootUid: number;
  chrootGid: number;
  environment: Record<string, string>;
  hostname?: string;
  staticMaxLoops: number;
  extraChrootDirs: string[];
  /** Remove the buildroot after a successful / failed build (Mock's cleanup_on_*, forced off when the result dir is inside the root's dir). */
  cleanupOnSuccess: boolean;
  cleanupOnFailure: boolean;
  /** %_buildhost defaulted to this host's name, as Mock sets it after loading the config. */
  macros: Record<string, string>;
  /** Every package manager's `<pm>_*` keys (pkgmgr.ts). */
  pmConfig: PmConfig;
  /**
   * http_proxy, https_proxy, ftp_proxy, no_proxy as Mock's get_proxy_environment
   * gives them to the package manager: each from config_opts, else the host's
   * environment. isomock's own requests for the repositories use them too.
   */
  proxyEnvironment: Record<string, string>;
  /** Mock's post_install: the built packages installed into the buildroot afterwards. */
  postInstall: boolean;
  /** Mock's short_circuit: the rpmbuild stage (prep, build, install, binary) to start and stop at. */
  shortCircuit?: string;
  /** Mock's rpmbuild_opts: words appended to rpmbuild's command line (as Mock, read by the build's shell). */
  rpmbuildOpts: string;
  /** Which of Mock's plugins run (config/plugins.ts; an unsupported one enabled was refused there). */
  plugins: PluginPlan;
  /** The options a lockfile records (recordedConfigKeys), expanded, as JSON, typed as configured. */
  recordedConfig: Record<string, JsonValue>;
  /** Mock's buildroot_lock plugin (plugin_conf, --enable-plugin): every build writes the lockfile. */
  lockPlugin: boolean;
  /** no_root_shells: --shell runs as the build user. */
  noRootShells: boolean;
  /** rpmbuild_timeout in seconds (0: none): each rpmbuild call is ended after it, as Mock ends it. */
  rpmbuildTimeout: number;
  /** Mock's SSL options: mapped back to host files for isomock's own requests, bound into a bootstrap for dnf. */
  mockSsl: Omit<CertOptions, 'hostCaBundle'>;
}

function proxyEnvironment(get: (key: string) => PyValue): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['http_proxy', 'https_proxy', 'ftp_proxy', 'no_proxy']) {
    const value = get(key);
    const chosen = value !== null && truthy(value) ? pyStr(value) : process.env[key];
    if (chosen) env[key] = chosen;
  }
  return env;
}

/** A list of (a, b) pairs, such as ssl_copied_ca_trust_dirs; anything else is no pair. */
function pairs(value: PyValue): [string, string][] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((p) =>
    Array.isArray(p) && p.length === 2 ? [[pyStr(p[0]!), pyStr(p[1]!)] as [string, string]] : [],
  );
}

/** The build user's uid: never 0 (Mock takes the invoking user's; as root that would be root). */
function buildUid(configured: PyValue): number {
  if (typeof configured === 'number' && configured > 0) return configured;
  const sudo = Number(process.env['SUDO_UID']);
  return Number.isInteger(sudo) && sudo > 0 ? sudo : 1000;
}

/**
 * The macros the host uses as paths must be plain absolute paths, whoever set
 * them (config, lockfile, command line): `%(...)` in %_dbpath would run on the
 * host, `..` in %_topdir would make the host create and chown outside the root.
 */
function checkHostPathMacros(macros: Record<string, string>): void {
  for (const name of hostPathMacros) {
    const value = macros[name];
    const problem = value === undefined ? undefined : badHostPath(value);
    if (problem) throw configError(`config_opts['macros']['${name}'] ${JSON.stringify(value)} ${problem}`);
  }
}

/** Mock's isolation values: isomock runs every one in its own sandbox (sandbox.ts), never systemd-nspawn. */
const isolations = ['auto', 'nspawn', 'simple'];

/** Mock's rpmbuild_timeout: an int of seconds (--rpmbuild_timeout, type=int); 0 or None is none. */
function timeoutSeconds(v: PyValue): number {
  if (v === null || v === false) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw configError(`config_opts['rpmbuild_timeout'] must be a whole number of seconds, not ${pyStr(v)}`);
  return v;
}

export function buildConfigFrom(raw: PyDict): BuildConfig {
  const config = withUniqueRoot(raw);
  const options = mockOptions(raw, config);
  checkHostPathMacros(options.macros);
  if (options.isolation !== null && !isolations.includes(options.isolation))
    throw configError(
      `config_opts['isolation'] ${JSON.stringify(options.isolation)} is not one of ${isolations.join(', ')}`,
    );
  const get = (key: string): PyValue => expandedOption(config, key) ?? null;
  const words = (key: string): string[] => {
    const v = get(key);
    if (typeof v === 'string') return v.split(/\s+/).filter(Boolean);
    return Array.isArray(v) ? v.map(pyStr) : [];
  };
  const count = (key: string, fallback: number): number => {
    const v = get(key);
    return typeof v === 'number' ? v : fallback;
  };
  const env = get('environment');
  const host = get('hostname');
  const plugins = get('plugin_conf');
  const recordedConfig: Record<string, JsonValue> = {};
  for (const key of recordedConfigKeys) {
    const value = expandedOption(config, key);
    if (value !== undefined) recordedConfig[key] = toJson(value) as JsonValue;
  }
  return {
    ...options,
    macros: { '%_buildhost': hostname(), ...options.macros },
    cachedir: join(options.cacheTopdir, options.root),
    configPaths: words('config_paths'),
    updateBeforeBuild: truthy(get('update_before_build')),
    cleanFirst: truthy(get('clean')),
    chrootAdditionalPackages: words('chroot_additional_packages'),
    additionalPackages: words('additional_packages'),
    useHostResolv: truthy(get('use_host_resolv')),
    chrootUser: pyStr(get('chrootuser') ?? 'mockbuild'),
    chrootGroup: pyStr(get('chrootgroup') ?? 'mock'),
    chrootUid: buildUid(get('chrootuid')),
    chrootGid: count('chrootgid', 135),
    environment: {
      TERM: 'vt100',
      SHELL: '/bin/bash',
      HOME: '/builddir',
      HOSTNAME: 'mock',
      PATH: '/usr/bin:/bin:/usr/sbin:/sbin',
      LANG: 'C.UTF-8',
      ...(isDict(env) ? Object.fromEntries(Object.entries(env).map(([k, v]) => [k, pyStr(v)])) : {}),
    },
    hostname: typeof host === 'string' && host ? host : undefined,
    staticMaxLoops: count('static_buildrequires_max_loops', 10),
    cleanupOnSuccess: truthy(get('cleanup_on_success')),
    cleanupOnFailure: truthy(get('cleanup_on_failure')),
    extraChrootDirs: words('extra_chroot_dirs'),
    pmConfig: pmConfigFrom(get),
    proxyEnvironment: proxyEnvironment(get),
    postInstall: truthy(get('post_install')),
    plugins: pluginPlan(config),
    shortCircuit:
      typeof get('short_circuit') === 'string' && get('short_circuit') ? pyStr(get('short_circuit')) : undefined,
    rpmbuildOpts: typeof get('rpmbuild_opts') === 'string' ? pyStr(get('rpmbuild_opts')) : '',
    recordedConfig,
    lockPlugin: isDict(plugins) && truthy(plugins['buildroot_lock_enable'] ?? false),
    noRootShells: truthy(get('no_root_shells')),
    rpmbuildTimeout: timeoutSeconds(get('rpmbuild_timeout')),
    mockSsl: {
      ssl_ca_bundle_path: typeof get('ssl_ca_bundle_path') === 'string' ? pyStr(get('ssl_ca_bundle_path')) : null,
      ssl_extra_certs: Array.isArray(get('ssl_extra_certs')) ? (get('ssl_extra_certs') as PyValue[]).map(pyStr) : null,
      copiedTrustDirs: pairs(get('ssl_copied_ca_trust_dirs')),
      redhatSubscriptionRequired: truthy(get('redhat_subscription_required') ?? false),
    },
  };
}
