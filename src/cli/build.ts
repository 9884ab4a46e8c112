/**
 * The build modes on the command line: --rebuild (the default), --chain,
 * --calculate-build-dependencies and --isolated-build. Reads the config and
 * the options, then calls the library (src/commands).
 */
import { CommandLineError, ExitCode } from '../errors.js';
import { buildConfigFrom } from '../buildroot/build-config.js';
import { onlineBootstrap } from '../buildroot/bootstrap.js';
import type { Verbosity } from '../buildroot/logs.js';
import { runnable } from '../config/arch.js';
import { loadOptionsFromArgs } from './config-options.js';
import { loadConfig } from '../config/load.js';
import { runBuild, type BuildReport } from '../commands/build.js';
import { runIsolatedBuild } from '../commands/isolated-build.js';
import { runChain } from '../commands/chain.js';
import { flag, list, pair, str, type ParsedArgs } from './args.js';
import { invokerIds } from '../util/invoker.js';

export function verbosity(args: ParsedArgs): Verbosity {
  return flag(args, 'quiet') ? 'quiet' : flag(args, 'verbose') ? 'verbose' : 'normal';
}

function report(r: BuildReport, args: ParsedArgs): void {
  if (flag(args, 'json')) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return;
  }
  if (flag(args, 'quiet')) return;
  process.stderr.write(`Results and logs in: ${r.resultdir}\n`);
  for (const f of r.results) process.stderr.write(`  ${f}\n`);
  if (r.lockfile) process.stderr.write(`Lockfile: ${r.lockfile}\n`);
}

export async function buildCommand(args: ParsedArgs, argv: string[], signal?: AbortSignal): Promise<number> {
  const mode = args.mode ?? 'rebuild';
  const srpms = args.positionals;
  const spec = str(args, 'spec');
  const sources = str(args, 'sources');
  if (mode === 'buildsrpm' && spec === undefined)
    throw new CommandLineError('--buildsrpm needs --spec (and --sources if the spec has any)');
  // Mock's rebuild modes take --spec with --sources instead of an SRPM: the SRPM is made first, then rebuilt.
  const fromSpec =
    mode === 'buildsrpm'
      ? { spec: spec!, sources, rebuild: false }
      : srpms.length === 0 && spec !== undefined && sources !== undefined
        ? { spec, sources, rebuild: true }
        : undefined;
  if (!fromSpec && mode !== 'chain' && srpms.length === 0)
    throw new CommandLineError(`--${mode} needs an SRPM, or --spec and --sources`);
  const nocheck = flag(args, 'nocheck');

  if (mode === 'isolated-build') {
    if (str(args, 'root') !== undefined) {
      throw new CommandLineError(
        'the --isolated-build mode uses a special chroot configuration; you cannot select one with -r/--root',
      );
    }
    const [lockfile, repo] = pair(args, 'isolated-build')!;
    const { readFile: _invokerReader, ...configOptions } = loadOptionsFromArgs(args, argv);
    const readAs = invokerIds();
    report(
      await runIsolatedBuild(
        {
          lockfile,
          repo,
          srpms,
          fromSpec,
          configOptions,
          ...(readAs && { readAs }),
          nocheck,
          acceptOtherSrpm: flag(args, 'accept-other-srpm'),
          gpgkeys: list(args, 'gpgkey'),
          requireSignatures: flag(args, 'require-signatures'),
          verbosity: verbosity(args),
        },
        signal,
      ),
      args,
    );
    return ExitCode.ok;
  }

  const loaded = loadConfig(loadOptionsFromArgs(args, argv));
  const config = buildConfigFrom(runnable(loaded.raw));
  // Mock's clean: off with --no-clean, and with --short-circuit (which builds on the last run's tree).
  const noClean = flag(args, 'no-clean') || config.shortCircuit !== undefined;
  if (mode === 'chain') {
    const chain = await runChain({
      rawConfig: loaded.raw,
      srpms,
      localrepo: str(args, 'localrepo'),
      cont: flag(args, 'continue'),
      recurse: flag(args, 'recurse'),
      tmpPrefix: str(args, 'tmp_prefix'),
      noClean,
      nocheck,
      verbosity: verbosity(args),
      bootstrap: onlineBootstrap(config),
      signal,
      console: process.stderr,
      log: (line) => {
        if (!flag(args, 'quiet')) process.stderr.write(`INFO: ${line}\n`);
      },
    });
    if (flag(args, 'json')) process.stdout.write(JSON.stringify(chain, null, 2) + '\n');
    return chain.exitCode;
  }
  report(
    await runBuild({
      config,
      srpms: mode === 'buildsrpm' ? [] : srpms,
      fromSpec,
      calculateOnly: mode === 'calculate-build-dependencies',
      noClean,
      nocheck,
      verbosity: verbosity(args),
      console: process.stderr,
      bootstrap: onlineBootstrap(config),
      signal,
    }),
    args,
  );
  return ExitCode.ok;
}
