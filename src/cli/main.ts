/**
 * The CLI: parses Mock's grammar, then hands over to the library's commands.
 * Only this layer prints errors and turns them into exit codes.
 */
import { CommandLineError, ExitCode, IsomockError } from '../errors.js';
import { errorLine } from '../util/error-line.js';
import { version } from '../version.js';
import { flag, formatOptions, parseArgs, str, type OptionSpec, type ParsedArgs } from './args.js';
import { imageOptions, isolatedRepoOptions, mainOptions } from './options.js';
import { exitCodeFor, handleSignals } from './signals.js';
import { watchSudoCaller } from './sudo.js';
import { invokerInputs, type InvokerInputs } from './invoker-inputs.js';

// Command modules are imported when their command runs: a CLI start loads only what it uses.

const usage = `usage:
       isomock [options] {--init|--clean|--scrub=[all,chroot,bootstrap,cache]}
       isomock [options] [--rebuild] /path/to/srpm(s)
       isomock [options] --buildsrpm --spec /path/to/spec --sources /path/to/src
       isomock [options] --calculate-build-dependencies /path/to/srpm
       isomock [options] --isolated-build LOCKFILE REPO /path/to/srpm
       isomock [options] {--shell|--chroot} <cmd>
       isomock [options] --installdeps {SRPM|RPM|SPEC}
       isomock [options] -i, --install PACKAGE name, or PATH/TO/RPM
       isomock isolated-repo --lockfile FILE --output-repo DIR
       isomock image {pull|inspect|save} REF [DIR]

--isolated-build is also spelled --hermetic-build, and isolated-repo
hermetic-repo, as in Mock.`;

interface Subcommand {
  options: OptionSpec[];
  usage: string;
  run(args: ParsedArgs): Promise<number>;
  /** Takes no AbortSignal yet: the first signal exits at once (its children die by their parent-death signal). */
  exitOnSignal: true;
}

const subcommands: Record<string, Subcommand> = {
  'isolated-repo': {
    options: isolatedRepoOptions,
    usage:
      'usage: isomock isolated-repo --lockfile FILE --output-repo DIR [--client-cert-for HOST CERT [KEY]] [--proxy URL] [--ca-cert FILE] [--jobs N] [--timeout S] [--minrate B] [--max-size B] [--allow-link-local] [--bootstrap-tar]',
    run: async (args) => (await import('./isolated-repo.js')).isolatedRepoCommand(args),
    exitOnSignal: true,
  },
  image: {
    options: imageOptions,
    usage: 'usage: isomock image {pull REF | inspect REF [--json] | save REF DIR [--format dir|oci-archive]}',
    run: async (args) => (await import('./image.js')).imageCommand(args),
    exitOnSignal: true,
  },
};
subcommands['hermetic-repo'] = subcommands['isolated-repo']!;

function notYet(what: string): (args: ParsedArgs) => Promise<number> {
  return () => Promise.reject(new IsomockError(`${what} is not implemented in isomock ${version} yet`));
}

function help(text: string, table: OptionSpec[]): string {
  return `${text}\n\noptions:\n${formatOptions(table)}\n`;
}

async function runMain(args: ParsedArgs, argv: string[], signal: AbortSignal): Promise<number> {
  if (flag(args, 'help')) {
    process.stdout.write(help(usage, mainOptions));
    return ExitCode.ok;
  }
  if (flag(args, 'version')) {
    process.stdout.write(`${version}\n`);
    return ExitCode.ok;
  }
  const mode = args.mode ?? 'rebuild';
  // Mock's checks of the --chain options, before anything else.
  for (const [key, message] of [
    ['localrepo', 'The --localrepo option works only with --chain'],
    ['recurse', 'Only --chain mode supports --recurse build algorithm'],
    ['continue', 'Only --chain mode supports --continue build algorithm'],
  ] as const) {
    if (mode !== 'chain' && args.options.has(key)) throw new IsomockError(message, ExitCode.badCmdline);
  }
  if (mode === 'list-chroots') {
    const [{ listChroots }, { systemConfigDirs }, { existsSync }, { invokingHome }, { loadOptionsFromArgs }] =
      await Promise.all([
        import('../config/list-chroots.js'),
        import('../config/load.js'),
        import('node:fs'),
        import('../util/invoker.js'),
        import('./config-options.js'),
      ]);
    const dir = str(args, 'configdir') ?? systemConfigDirs.find((d) => existsSync(d)) ?? '/etc/mock';
    // Under sudo the configs are read as the invoker, and theirs are the ~/.config/mock ones, as in Mock.
    const { readFile } = loadOptionsFromArgs(args, argv);
    process.stdout.write(listChroots(dir, invokingHome(), readFile ? { readFile } : {}));
    return ExitCode.ok;
  }
  if (flag(args, 'print-root-path')) {
    const [{ mockOptions }, { loadOptionsFromArgs }, { loadConfig }] = await Promise.all([
      import('../config/options.js'),
      import('./config-options.js'),
      import('../config/load.js'),
    ]);
    // Mock prints the buildroot's path joined with '' (so with a trailing slash) and exits.
    const rootdir = mockOptions(loadConfig(loadOptionsFromArgs(args, argv)).raw).rootdir;
    process.stdout.write(`${rootdir.endsWith('/') ? rootdir : `${rootdir}/`}\n`);
    return ExitCode.ok;
  }
  if (mode === 'debug-config' || mode === 'debug-config-expanded') {
    const [{ renderDebugConfig }, { loadOptionsFromArgs }, { loadConfig }] = await Promise.all([
      import('../config/debug.js'),
      import('./config-options.js'),
      import('../config/load.js'),
    ]);
    const loaded = loadConfig(loadOptionsFromArgs(args, argv));
    process.stdout.write(
      renderDebugConfig(loaded, { expanded: mode === 'debug-config-expanded', json: flag(args, 'json') }),
    );
    return ExitCode.ok;
  }
  if (
    mode === 'rebuild' ||
    mode === 'chain' ||
    mode === 'buildsrpm' ||
    mode === 'calculate-build-dependencies' ||
    mode === 'isolated-build'
  ) {
    return (await import('./build.js')).buildCommand(args, argv, signal);
  }
  const [modes, { withAbortSignal }] = await Promise.all([import('./modes.js'), import('../buildroot/process.js')]);
  if (modes.isBuildrootMode(mode)) return withAbortSignal(signal, () => modes.buildrootModeCommand(mode, args, argv));
  return notYet(`--${mode}`)(args);
}

/** Runs the command line; returns the exit code. Every failure is one line on stderr. */
export async function main(argv: string[]): Promise<number> {
  // A --shell session's Ctrl-C is the terminal's, for the shell inside.
  const sub = argv[0] !== undefined ? subcommands[argv[0]] : undefined;
  const signals = handleSignals({ leaveSigint: argv.includes('--shell'), exitAtOnce: sub?.exitOnSignal === true });
  // Run through sudo for a member of group mock: a caller killed with SIGKILL ends this run as SIGTERM would.
  const unwatch = watchSudoCaller(() => process.kill(process.pid, 'SIGTERM'));
  let inputs: InvokerInputs | undefined;
  try {
    if (sub) {
      const args = parseArgs(argv.slice(1), sub.options);
      if (flag(args, 'help')) {
        process.stdout.write(help(sub.usage, sub.options));
        return ExitCode.ok;
      }
      inputs = invokerInputs(args, argv[0]);
      return await sub.run(inputs.args);
    }
    // Under sudo, the files named are read as the invoker (cli/invoker-inputs.ts).
    inputs = invokerInputs(parseArgs(argv, mainOptions));
    return await runMain(inputs.args, argv, signals.signal);
  } catch (err) {
    const received = signals.received();
    if (received) {
      process.stderr.write(`isomock: error: interrupted by ${received}\n`);
      return exitCodeFor(received);
    }
    const { message, exitCode } = errorLine(err);
    process.stderr.write(`isomock: error: ${message}\n`);
    if (err instanceof CommandLineError) process.stderr.write(`Try 'isomock --help' for more information.\n`);
    return exitCode;
  } finally {
    inputs?.dispose();
    unwatch();
    signals.dispose();
  }
}
