/** The config-related command-line options, as loadConfig() takes them. */
import { flag, list, str, type ParsedArgs } from '../cli/args.js';
import type { LoadOptions } from './load.js';

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
    },
  };
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
  ] as const) {
    const v = str(args, key);
    if (v !== undefined) set(v);
  }
  return opts;
}
