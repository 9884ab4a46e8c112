/**
 * The package manager layer, as Mock's package_manager.py does it for dnf4,
 * dnf5 and yum: each one's command (`<pm>_command`, or `<pm>_system_command`
 * for a bootstrap without an image), common options (`<pm>_common_opts`),
 * disabled plugins (`<pm>_disable_plugins`), the options a subcommand does
 * not take (`<pm>_avoid_opts`), the builddep command and its options, the
 * install command, and the fallback order when the configured one is absent.
 * Invocations are laid out exactly as Mock's build_invocation() lays them
 * out. Settings come from the config (pmSettings, no I/O); finding the binary
 * looks into the tree the package manager runs from. microdnf is refused.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { isAbsolute, join, dirname } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import { isDict, pyStr, truthy, type PyValue } from '../python/value.js';

export type PackageManagerName = 'dnf4' | 'dnf5' | 'yum';

/** One package manager's keys from the config. */
interface PmSettings {
  command: string;
  systemCommand: string | null;
  commonOpts: string[];
  disablePlugins: string[];
  /** Subcommand -> options left out of it (dnf5 refuses `repoquery --allowerasing`). */
  avoidOpts: Record<string, string[]>;
  builddepOpts: string[];
  /** `<pm>_builddep_command`: for dnf a replacement of the command before `builddep`, for yum the whole builddep tool. */
  builddepCommand: string | null;
  /** `<pm>_install_command`, split into words: what installs this package manager into a bootstrap. */
  installCommand: string[];
}

/** What the layer reads from a config: every package manager's keys, and the ones common to all. */
export interface PmConfig {
  packageManager: string;
  managers: Record<PackageManagerName, PmSettings>;
  forcearch: string | null;
  useBootstrap: boolean;
  useBootstrapImage: boolean;
}

export interface PackageManager {
  name: PackageManagerName;
  /** Absolute path of the binary in the tree it runs from (bootstrap or host). */
  command: string;
  settings: PmSettings;
  forcearch: string | null;
}

/** Mock's fallbacks table: the configured manager first, then the others in this order. */
const fallbacks: Record<PackageManagerName, PackageManagerName[]> = {
  dnf4: ['dnf4', 'dnf5', 'yum'],
  yum: ['yum', 'dnf4', 'dnf5'],
  dnf5: ['dnf5', 'dnf4', 'yum'],
};

function normalizeName(configured: string): PackageManagerName {
  if (configured === 'dnf' || configured === 'dnf4') return 'dnf4';
  if (configured === 'dnf5' || configured === 'yum') return configured;
  if (configured === 'microdnf') {
    throw new IsomockError(
      "package_manager 'microdnf' is not supported: isomock runs dnf4, dnf5 or yum (set package_manager = 'dnf5' or 'dnf')",
      ExitCode.config,
    );
  }
  throw new IsomockError(`package_manager '${configured}' is not supported (dnf, dnf4, dnf5, yum)`, ExitCode.config);
}

/** Reads `<pm>_*` for each package manager; `get` returns the expanded option or null. */
export function pmConfigFrom(get: (key: string) => PyValue): PmConfig {
  const list = (key: string): string[] => {
    const v = get(key);
    if (v === null) return [];
    if (!Array.isArray(v)) throw configValueError(key, v, 'a list of strings');
    return v.map(pyStr);
  };
  const optional = (key: string): string | null => {
    const v = get(key);
    if (v === null || v === '') return null;
    if (typeof v !== 'string') throw configValueError(key, v, 'a string');
    return v;
  };
  const avoid = (key: string): Record<string, string[]> => {
    const v = get(key);
    if (v === null) return {};
    if (!isDict(v)) throw configValueError(key, v, 'a dict of lists');
    return Object.fromEntries(
      Object.entries(v).map(([sub, opts]) => {
        if (!Array.isArray(opts)) throw configValueError(`${key}['${sub}']`, opts, 'a list of strings');
        return [sub, opts.map(pyStr)];
      }),
    );
  };
  const settings = (pm: PackageManagerName): PmSettings => {
    const command = optional(`${pm}_command`);
    if (!command) throw configValueError(`${pm}_command`, get(`${pm}_command`), 'a path');
    return {
      command,
      systemCommand: optional(`${pm}_system_command`),
      commonOpts: list(`${pm}_common_opts`),
      disablePlugins: list(`${pm}_disable_plugins`),
      avoidOpts: avoid(`${pm}_avoid_opts`),
      builddepOpts: list(`${pm}_builddep_opts`),
      builddepCommand: optional(`${pm}_builddep_command`),
      installCommand: (optional(`${pm}_install_command`) ?? '').split(/\s+/).filter(Boolean),
    };
  };
  return {
    packageManager: pyStr(get('package_manager') ?? 'dnf'),
    managers: { dnf4: settings('dnf4'), dnf5: settings('dnf5'), yum: settings('yum') },
    forcearch: optional('forcearch'),
    useBootstrap: truthy(get('use_bootstrap')),
    // Mock's config.get("use_bootstrap_image", True).
    useBootstrapImage: get('use_bootstrap_image') === null || truthy(get('use_bootstrap_image')),
  };
}

function configValueError(key: string, value: PyValue, want: string): IsomockError {
  return new IsomockError(`config_opts['${key}'] must be ${want}, not ${pyStr(value)}`, ExitCode.config);
}

/** Mock's get_command(): the bootstrap image's command, or the host's system command for a bootstrap made by the host. */
function commandOf(pm: PackageManagerName, config: PmConfig): string {
  const s = config.managers[pm];
  if (config.useBootstrapImage) return s.command;
  if (config.useBootstrap && s.systemCommand) return s.systemCommand;
  return s.command;
}

/**
 * Where `path` leads inside `tree`, following symlinks as the tree's own
 * processes would see them (an absolute target is taken inside the tree, so
 * nothing on the host is ever looked at); null when it does not end at a file.
 */
function resolveInTree(tree: string, path: string): string | null {
  let current = path;
  for (let hops = 0; hops < 40; hops++) {
    let st;
    try {
      st = lstatSync(join(tree, current));
    } catch {
      return null;
    }
    if (st.isFile()) return current;
    if (!st.isSymbolicLink()) return null;
    const target = readlinkSync(join(tree, current));
    current = isAbsolute(target) ? target : join(dirname(current), target);
  }
  return null;
}

/**
 * Picks the package manager in tree (a bootstrap, or '/' for the host): the
 * configured one when its command is there, else the first of Mock's
 * fallbacks; like Mock, a command must really be that manager (`/usr/bin/yum`
 * pointing at dnf is not yum). `log` hears of a fallback.
 */
export function findPackageManager(config: PmConfig, tree: string, log?: (message: string) => void): PackageManager {
  const wanted = normalizeName(config.packageManager);
  const tried: string[] = [];
  for (const name of fallbacks[wanted]) {
    const command = commandOf(name, config);
    tried.push(command);
    const real = resolveInTree(tree, command);
    if (real === null || !real.includes(name === 'dnf4' ? 'dnf' : name)) continue;
    if (name !== wanted) log?.(`Using '${name}' instead of '${wanted}'`);
    return { name, command, settings: config.managers[name], forcearch: config.forcearch };
  }
  throw new IsomockError(`no package manager in ${tree}: looked for ${tried.join(', ')}`, ExitCode.packageManager);
}

export interface PmInvocation {
  /** The buildroot (Mock passes make_chroot_path(''), with its trailing slash). */
  installroot: string;
  releasever?: string;
  offline: boolean;
  /** --enablerepo/--disablerepo, in command-line order. */
  repoToggles: string[];
}

/** The options every call carries: common options, disabled plugins, --forcearch. */
function commonOpts(pm: PackageManager): string[] {
  return [
    ...pm.settings.commonOpts,
    ...pm.settings.disablePlugins.map((p) => `--disableplugin=${p}`),
    ...(pm.forcearch ? ['--forcearch', pm.forcearch] : []),
  ];
}

/**
 * argv for one call, as Mock's build_invocation() lays it out: the command
 * (for builddep, the builddep command), `--installroot R/`, `-y` for
 * upgrade/update/module, --releasever, -C offline, the repo toggles, then the
 * common options before the subcommand (dnf4, yum) or after its arguments
 * (dnf5), less those the subcommand avoids; builddep adds its own options.
 */
export function pmArgv(pm: PackageManager, inv: PmInvocation, subcommand: string[]): string[] {
  const [cmd = '', ...rest] = subcommand;
  const avoided = pm.settings.avoidOpts[cmd] ?? [];
  let opts = commonOpts(pm).filter((o) => !avoided.includes(o));
  let head: string[];
  let args = subcommand;
  if (cmd === 'builddep') {
    args = rest;
    opts = [...opts, ...pm.settings.builddepOpts];
    if (pm.name === 'yum') head = [pm.settings.builddepCommand ?? '/usr/bin/yum-builddep'];
    else head = [pm.settings.builddepCommand ?? pm.command, 'builddep'];
  } else {
    head = [pm.command];
  }
  const root = inv.installroot.endsWith('/') ? inv.installroot : `${inv.installroot}/`;
  return [
    ...head,
    '--installroot',
    root,
    ...(['upgrade', 'update', 'module'].includes(cmd) ? ['-y'] : []),
    ...(inv.releasever ? ['--releasever', inv.releasever] : []),
    ...(inv.offline ? ['-C'] : []),
    ...inv.repoToggles,
    ...(pm.name === 'dnf5' ? [...args, ...opts] : [...opts, ...args]),
  ];
}
