/**
 * The modes that work in a buildroot without building: --init, --shell,
 * --chroot, --installdeps, --install and --update, with Mock's semantics (no clean
 * except for --init; the buildroot is initialized first when it is new).
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { ExitCode, IsomockError } from '../errors.js';
import type { Buildroot } from '../buildroot/buildroot.js';
import type { Bind } from '../buildroot/sandbox.js';
import { readRpmPackage } from '../rpm/package.js';
import { inBuildroot, type SessionRequest } from './chroot-session.js';

/** What a mode that works in the buildroot takes: the session without the build's clean, install and cleanup policy. */
export type ChrootRequest = Pick<SessionRequest, 'config' | 'verbosity' | 'console' | 'bootstrap' | 'signal'>;

/** Mock's --init: clean (unless --no-clean), then create the buildroot. */
export async function initChroot(req: ChrootRequest, clean: boolean): Promise<void> {
  await inBuildroot({ ...req, clean }, async () => undefined);
}

export interface CommandOptions {
  /** Root, or the build user (--unpriv, or config_opts['no_root_shells'] for --shell). */
  asRoot: boolean;
  /** Working directory inside the buildroot (--cwd). */
  cwd?: string;
}

/**
 * --shell: the words joined into one command line for /bin/sh -c (so the
 * buildroot's shell expands them), or a login shell reading stdin,
 * interactive when stdin is a terminal (the prompt is Mock's PS1 from
 * config_opts['environment']). It shares isomock's terminal and, as in Mock,
 * is not logged. Resolves with the shell's exit code.
 */
export async function shell(
  req: ChrootRequest,
  words: string[],
  options: CommandOptions & { tty: boolean },
): Promise<number> {
  return inBuildroot(req, async ({ br }) => {
    const argv =
      words.length > 0
        ? ['/bin/sh', '-c', words.join(' ')]
        : // The sandbox's set-up shell (dash) drops PS1 from the environment: hand it over again.
          [
            '/usr/bin/env',
            `PS1=${br.config.environment['PS1'] ?? ''}`,
            '/bin/sh',
            '-l',
            ...(options.tty ? ['-i'] : []),
          ];
    const { code } = await br.runInside(argv, {
      asRoot: options.asRoot,
      cwd: options.cwd ?? br.config.chroothome,
      interactive: true,
    });
    return code;
  });
}

/** A stream that copies what it is given to each target (the console and root.log). */
function tee(targets: Writable[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const t of targets) t.write(chunk);
      done();
    },
  });
}

/**
 * --chroot: one word is a command line for /bin/sh -c, several are executed
 * as they are (no shell expansion), as Mock does. The output goes to `out`
 * and to root.log. Resolves with the command's exit code.
 */
export async function chroot(
  req: ChrootRequest,
  words: string[],
  options: CommandOptions & { out: Writable },
): Promise<number> {
  if (words.length === 0)
    throw new IsomockError('You must specify a command to run with --chroot', ExitCode.missingArguments);
  return inBuildroot(req, async ({ br }) => {
    const argv = words.length === 1 ? ['/bin/sh', '-c', words[0]!] : words;
    br.logs.info(`Running in chroot: ${JSON.stringify(words)}`);
    const { code } = await br.logs.step(`chroot ${JSON.stringify(words)}`, () =>
      br.runInside(argv, { asRoot: options.asRoot, cwd: options.cwd ?? '/', log: tee([options.out, br.logs.root]) }),
    );
    return code;
  });
}

/** Host files the package manager reads: bound at the same path into the bootstrap it runs in (the host sees them already). */
function hostFileBinds(br: Buildroot, files: string[]): Bind[] {
  return br.bootstrap ? files.map((f) => ({ source: f, target: f, readOnly: true })) : [];
}

/**
 * --installdeps: the static BuildRequires of SRPMs and spec files, installed
 * with the package manager's builddep (which reads a .spec itself).
 * Dynamic BuildRequires are not installed, as in Mock.
 */
export async function installDeps(req: ChrootRequest, files: string[]): Promise<void> {
  if (files.length === 0)
    throw new IsomockError('You must specify an SRPM file with --installdeps', ExitCode.missingArguments);
  const paths = files.map((f) => resolve(f));
  for (const [i, path] of paths.entries()) {
    if (!existsSync(path)) throw new IsomockError(`--installdeps: no such file: ${files[i]}`, ExitCode.badCmdline);
    if (path.endsWith('.spec')) continue;
    try {
      await readRpmPackage(path);
    } catch (err) {
      if (!(err instanceof IsomockError)) throw err;
      throw new IsomockError(
        `--installdeps: ${err.message}; expected an SRPM, an RPM or a .spec file`,
        ExitCode.badCmdline,
      );
    }
  }
  await inBuildroot(req, async ({ br }) => {
    await br.logs.step('installing build dependencies', () =>
      br.packageManager(['builddep', ...paths], hostFileBinds(br, paths)),
    );
  });
}

/** A local RPM file rather than a package name (dnf takes both). */
function isLocalRpm(arg: string): boolean {
  return (arg.includes('/') || arg.endsWith('.rpm')) && existsSync(arg) && statSync(arg).isFile();
}

/** --install: package names, provides, or paths to local RPM files, installed with the package manager. */
export async function installPackages(req: ChrootRequest, packages: string[]): Promise<void> {
  if (packages.length === 0)
    throw new IsomockError('You must specify a package list to install.', ExitCode.missingArguments);
  const args = packages.map((p) => (isLocalRpm(p) ? resolve(p) : p));
  const localFiles = packages.filter(isLocalRpm).map((p) => resolve(p));
  await inBuildroot(req, async ({ br }) => {
    br.logs.info(`installing package(s): ${args.join(' ')}`);
    await br.packageManager(['install', ...args], hostFileBinds(br, localFiles));
  });
}

/** --update: the package manager's update of the named packages, or of everything when none are named. */
export async function updatePackages(req: ChrootRequest, packages: string[]): Promise<void> {
  await inBuildroot(req, async ({ br }) => {
    br.logs.info(`updating ${packages.length ? `package(s): ${packages.join(' ')}` : 'the buildroot'}`);
    await br.packageManager(['update', ...packages]);
  });
}
