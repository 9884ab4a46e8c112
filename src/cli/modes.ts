/**
 * The buildroot modes on the command line: --init, --clean, --scrub,
 * --shell, --chroot, --installdeps, --install and --update. Reads the config and the
 * options, then calls the library (src/commands).
 */
import { CommandLineError, ExitCode } from '../errors.js';
import { buildConfigFrom } from '../buildroot/build-config.js';
import { loadOptionsFromArgs } from './config-options.js';
import { loadConfig } from '../config/load.js';
import {
  chroot,
  initChroot,
  installDeps,
  installPackages,
  shell,
  updatePackages,
  type ChrootRequest,
} from '../commands/chroot-ops.js';
import { withRootLock } from '../commands/chroot-session.js';
import { cleanRoot, isScrubType, scrub, scrubTypes } from '../commands/scrub.js';
import { runnable } from '../config/arch.js';
import { flag, list, str, type ParsedArgs } from './args.js';
import { verbosity } from './build.js';
import { onlineBootstrap } from '../buildroot/bootstrap.js';

const buildrootModes = ['init', 'clean', 'scrub', 'shell', 'chroot', 'installdeps', 'install', 'update'] as const;
export type BuildrootMode = (typeof buildrootModes)[number];

export function isBuildrootMode(mode: string): mode is BuildrootMode {
  return (buildrootModes as readonly string[]).includes(mode);
}

export async function buildrootModeCommand(mode: BuildrootMode, args: ParsedArgs, argv: string[]): Promise<number> {
  const loaded = loadConfig(loadOptionsFromArgs(args, argv));
  const config = buildConfigFrom(runnable(loaded.raw));
  const req: ChrootRequest = {
    config,
    verbosity: verbosity(args),
    console: process.stderr,
    bootstrap: onlineBootstrap(config),
  };
  const notify = (m: string): void => {
    if (req.verbosity !== 'quiet') process.stderr.write(`INFO: ${m}\n`);
  };
  const words = args.positionals;
  const cwd = str(args, 'cwd');
  switch (mode) {
    case 'init':
      await initChroot(req, !flag(args, 'no-clean'));
      return ExitCode.ok;
    case 'clean':
      await withRootLock(config, () => cleanRoot(config));
      notify(`cleaned ${config.root}`);
      return ExitCode.ok;
    case 'scrub': {
      const types = list(args, 'scrub');
      const bad = types.find((t) => !isScrubType(t));
      if (bad !== undefined)
        throw new CommandLineError(`--scrub: unknown type '${bad}' (choose from ${scrubTypes.join(', ')})`);
      await withRootLock(config, () => scrub(config, types.filter(isScrubType), notify));
      return ExitCode.ok;
    }
    case 'shell': {
      const asRoot = !flag(args, 'unpriv') && !config.noRootShells;
      return shell(req, words, { asRoot, cwd, tty: process.stdin.isTTY === true });
    }
    case 'chroot':
      return chroot(req, words, { asRoot: !flag(args, 'unpriv'), cwd, out: process.stdout });
    case 'installdeps':
      await installDeps(req, words);
      return ExitCode.ok;
    case 'install':
      await installPackages(req, words);
      return ExitCode.ok;
    case 'update':
      await updatePackages(req, words);
      return ExitCode.ok;
  }
}
