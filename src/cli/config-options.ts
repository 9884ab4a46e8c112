/** The config-related command-line options, as loadConfig() takes them. */
import { CommandLineError, ExitCode } from '../errors.js';
import { flag, list, str, type ParsedArgs } from './args.js';
import type { LoadOptions } from '../config/load.js';
import { textReaderAs } from '../util/as-user.js';
import { invokerIds } from '../util/invoker.js';

/** --enablerepo/--disablerepo keep their relative order, as Mock hands them to dnf. */
function repoToggles(argv: string[]): string[] {
  const out: string[] = [];
  argv.forEach((arg, i) => {
    const m = /^--(enablerepo|disablerepo)(?:=(.*))?$/.exec(arg);
    if (!m) return;
    const value = m[2] ?? argv[i + 1];
    if (value !== undefined) out.push(`--${m[1]}`, value);
  });
  return out;
}

/** An on/off option pair: the one given wins; neither leaves the config alone. */
function choice<K extends string>(args: ParsedArgs, on: string, off: string, key: K): Partial<Record<K, boolean>> {
  if (flag(args, off)) return { [key]: false } as Partial<Record<K, boolean>>;
  if (flag(args, on)) return { [key]: true } as Partial<Record<K, boolean>>;
  return {};
}

/** --enable-plugin/--disable-plugin in command-line order. */
function pluginToggles(argv: string[]): [string, boolean][] {
  const out: [string, boolean][] = [];
  argv.forEach((arg, i) => {
    const m = /^--(enable|disable)-plugin(?:=(.*))?$/.exec(arg);
    const value = m ? (m[2] ?? argv[i + 1]) : undefined;
    if (m && value !== undefined) out.push([value, m[1] === 'enable']);
  });
  return out;
}

/**
 * loadConfig's options from the command line. Under sudo every config file
 * is read as the invoking user (Mock loads its config unprivileged): -r PATH,
 * its includes, ~/.config/mock.cfg, --configdir's site-defaults.cfg.
 */
export function loadOptionsFromArgs(args: ParsedArgs, argv: string[]): LoadOptions {
  const user = invokerIds();
  const opts: LoadOptions = {
    ...(user && { readFile: textReaderAs(user, ExitCode.config) }),
    cmdline: {
      defines: list(args, 'define'),
      with: list(args, 'with'),
      without: list(args, 'without'),
      configOpts: list(args, 'config-opts'),
      addrepo: list(args, 'addrepo'),
      repoToggles: repoToggles(argv),
      enableNetwork: flag(args, 'enable-network'),
      offline: flag(args, 'offline'),
      nocheck: flag(args, 'nocheck'),
      noClean: flag(args, 'no-clean'),
      calculatedeps: args.mode === 'calculate-build-dependencies',
      ...choice(args, 'bootstrap-chroot', 'no-bootstrap-chroot', 'bootstrapChroot'),
      ...choice(args, 'use-bootstrap-image', 'no-bootstrap-image', 'bootstrapImage'),
      ...choice(args, 'cleanup-after', 'no-cleanup-after', 'cleanupAfter'),
      additionalPackages: list(args, 'additional-package'),
      plugins: pluginToggles(argv),
      pluginOptions: list(args, 'plugin-option'),
      verbose: flag(args, 'quiet') ? 0 : flag(args, 'verbose') ? 2 : 1,
      stderrIsTty: process.stderr.isTTY === true,
      cacheAlterations: flag(args, 'cache-alterations'),
      bootstrapImageReady: flag(args, 'bootstrap-image-ready'),
      ...choice(args, 'new-chroot', 'old-chroot', 'newChroot'),
      ...(flag(args, 'yum') ? { packageManager: 'yum' } : flag(args, 'dnf') ? { packageManager: 'dnf' } : {}),
      ...((args.mode === 'yum-cmd' || args.mode === 'dnf-cmd') && { pmMode: args.mode }),
      postInstall: flag(args, 'postinstall'),
    },
  };
  const timeout = str(args, 'rpmbuild_timeout');
  if (timeout !== undefined) {
    // Mock's optparse type=int.
    if (!/^\d+$/.test(timeout)) throw new CommandLineError(`--rpmbuild_timeout: invalid integer value: '${timeout}'`);
    opts.cmdline!.rpmbuildTimeout = Number(timeout);
  }
  const root = str(args, 'root');
  const configDir = str(args, 'configdir');
  if (root !== undefined) opts.root = root;
  if (configDir !== undefined) opts.configDir = configDir;
  const cmd = opts.cmdline!;
  for (const [key, set] of [
    ['resultdir', (v: string) => (cmd.resultdir = v)],
    ['rootdir', (v: string) => (cmd.rootdir = v)],
    ['uniqueext', (v: string) => (cmd.uniqueext = v)],
    ['arch', (v: string) => (cmd.arch = v)],
    ['target', (v: string) => (cmd.target = v)],
    ['isolation', (v: string) => (cmd.isolation = v)],
    ['forcearch', (v: string) => (cmd.forcearch = v)],
    ['short-circuit', (v: string) => (cmd.shortCircuit = v)],
    ['rpmbuild-opts', (v: string) => (cmd.rpmbuildOpts = v)],
  ] as const) {
    const v = str(args, key);
    if (v !== undefined) set(v);
  }
  return opts;
}
