/**
 * Loading a chroot configuration in Mock's order: built-in defaults,
 * site-defaults.cfg and chroot-aliases.cfg of the config directory, the
 * chroot config, ~/.mock/user.cfg, ~/.config/mock.cfg, then the command line.
 *
 * `-r NAME` is looked up in ~/.config/mock/ (as Mock does), then --configdir,
 * /etc/isomock and /etc/mock; `-r some/path.cfg` is read as given. The config
 * directory (for site-defaults.cfg and relative include() paths) is
 * --configdir, else the system directory the chroot config was found in,
 * else the first system directory that exists.
 *
 * Then what Mock's main() does before any command: the RHEL subscription
 * check, the log format strings and the arch check (config/arch.ts). As in
 * Mock, the files are read as the invoking user (chrootuid is SUDO_UID under
 * sudo), a chroot config is recorded in config_paths by its real path, and
 * %_buildhost is the host's getfqdn().
 */
import { existsSync, realpathSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { CommandLineError } from '../errors.js';
import { hostFqdn } from '../util/fqdn.js';
import { invokingHome, invokingUid } from '../util/invoker.js';
import { checkArchCombination } from './arch.js';
import { applyCmdline, type CmdlineOptions } from './cmdline.js';
import { defaultConfig } from './defaults.js';
import { applyLogFormats } from './logging-ini.js';
import { applySubscription } from './subscription.js';
import { isDict, truthy, type PyDict } from '../python/value.js';
import { configError, runConfigFile, type ConfigReader } from './source.js';

export const systemConfigDirs = ['/etc/isomock', '/etc/mock'];

export interface LoadOptions {
  /** The -r value: a config name, or a path ending in .cfg. Mock's default is 'default'. */
  root?: string;
  /** --configdir. */
  configDir?: string;
  /** Directories searched after --configdir (tests point these elsewhere). */
  systemDirs?: string[];
  /** Home of the user whose ~/.config/mock.cfg and ~/.config/mock/NAME.cfg apply; default: the invoking user's. */
  home?: string;
  cmdline?: CmdlineOptions;
  /**
   * Options set after the files and before the command line, as Mock applies
   * a hermetic build's lockfile: the command line then derives rpmbuild_arch
   * and repo_arch from the lockfile's target_arch.
   */
  overrides?: PyDict;
  /** The uid the config is read as (chrootuid); default: the invoking user's (util/invoker.ts). */
  uid?: number;
  /**
   * Reads each config file; default: isomock's own read. Under sudo the CLI
   * reads them as the invoking user, as Mock loads its config unprivileged.
   */
  readFile?: ConfigReader;
  /** The host's FQDN for %_buildhost; default: util/fqdn.ts, asked only when a config needs it. */
  fqdn?: () => string;
}

export interface LoadedConfig {
  /** config_opts as Mock holds it: unexpanded, except what the command line read. */
  raw: PyDict;
  /** The chroot config file read for -r. */
  chrootConfigFile: string;
  /** The directory of site-defaults.cfg and relative includes. */
  configDir: string;
  /** Every config file read, includes too, in order. */
  files: string[];
  /** Non-fatal findings (e.g. a file included twice and skipped), each naming its file:line. */
  warnings: string[];
}

function findChrootConfig(name: string, opts: LoadOptions, home: string): { file: string; configDir: string } {
  const systemDirs = opts.systemDirs ?? systemConfigDirs;
  const fallbackDir =
    opts.configDir ?? systemDirs.find((d) => existsSync(d)) ?? systemDirs[systemDirs.length - 1] ?? '/etc/mock';
  if (name.endsWith('.cfg')) return { file: resolve(name), configDir: fallbackDir };
  const candidates = [join(home, '.config', 'mock'), ...(opts.configDir ? [opts.configDir] : []), ...systemDirs];
  for (const dir of candidates) {
    const file = join(dir, `${name}.cfg`);
    if (existsSync(file)) return { file, configDir: opts.configDir ?? (systemDirs.includes(dir) ? dir : fallbackDir) };
  }
  const hints = [
    name === 'default' ? " Did you forget to specify the chroot to use with '-r'?" : '',
    name.includes('/') ? ' If you are giving a path, include the .cfg extension, e.g. -r ./target.cfg' : '',
  ].join('');
  throw configError(`Mock config '${name}' not found; looked for ${name}.cfg in ${candidates.join(', ')}.${hints}`);
}

/** Mock's check after each file: macro names are one word, values non-empty, names get their '%'. */
function checkMacros(config: PyDict, file: string): void {
  const macros = config['macros'];
  if (!isDict(macros)) throw configError(`${file}: config_opts['macros'] must be a dict`);
  for (const k of Object.keys(macros)) {
    const v = macros[k]!;
    if (!k || (v !== null && !truthy(v)) || k.trim().split(/\s+/).length !== 1) {
      throw new CommandLineError(`Bad macros 'config_opts['macros']['${k}'] = ['${String(v)}']' (${file})`);
    }
    if (!k.startsWith('%')) {
      delete macros[k];
      macros[`%${k}`] = v;
    }
  }
}

/** Mock reads each config file by its real path (a missing one is reported by the reader). */
function realPath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

/** Mock's load_config(): the defaults and the files, no command line (what --list-chroots reads). */
export function readConfigFiles(opts: LoadOptions = {}): LoadedConfig {
  const home = opts.home ?? invokingHome();
  const name = opts.root ?? 'default';
  const raw = defaultConfig(opts.uid ?? invokingUid());
  const { file: chrootConfigFile, configDir } = findChrootConfig(name, opts, home);
  raw['config_path'] = configDir;
  raw['chroot_name'] = name.endsWith('.cfg') ? basename(name).replace(/\.cfg$/, '') : name;
  raw['config_file'] = chrootConfigFile;
  const loaded: LoadedConfig = { raw, chrootConfigFile, configDir, files: [], warnings: [] };
  const read = (file: string, required: boolean): void => {
    if (!required && !existsSync(file)) return;
    const source = runConfigFile(raw, realPath(file), configDir, opts.readFile);
    loaded.files.push(...source.files);
    loaded.warnings.push(...source.warnings);
    checkMacros(raw, file);
  };
  read(join(configDir, 'site-defaults.cfg'), false);
  read(join(configDir, 'chroot-aliases.cfg'), false);
  read(chrootConfigFile, true);
  read(join(home, '.mock', 'user.cfg'), false);
  read(join(home, '.config', 'mock.cfg'), false);
  raw['config_paths'] = [...new Set(loaded.files)];
  const macros = raw['macros'];
  if (raw['use_container_host_hostname'] && isDict(macros) && !('%_buildhost' in macros))
    macros['%_buildhost'] = (opts.fqdn ?? hostFqdn)();
  if ('use_bootstrap_container' in raw) {
    loaded.warnings.push(
      "config_opts['use_bootstrap_container'] is deprecated, please use config_opts['use_bootstrap'] instead",
    );
    raw['use_bootstrap'] = raw['use_bootstrap_container']!;
  }
  return loaded;
}

export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const loaded = readConfigFiles(opts);
  const { raw, configDir } = loaded;
  const home = opts.home ?? invokingHome();
  Object.assign(raw, opts.overrides);
  applyCmdline(raw, opts.cmdline ?? {}, home);
  applySubscription(raw);
  applyLogFormats(raw, configDir);
  checkArchCombination(raw);
  return loaded;
}
