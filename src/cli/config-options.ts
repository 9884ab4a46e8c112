/** The config-related command-line options, as loadConfig() takes them. */
import { CommandLineError } from '../errors.js';
import { flag, list, str, type ParsedArgs } from './args.js';
import type { LoadOptions } from '../config/load.js';

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

export function loadOptionsFromArgs(args: ParsedArgs, argv: string[]): LoadOptions {
  const opts: LoadOptions = {
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
  ] as const) {
    const v = str(args, key);
    if (v !== undefined) set(v);
  }
  return opts;
}
