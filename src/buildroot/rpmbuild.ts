/**
 * The build phase. Mock's rules, with fewer resolver runs: the SRPM is
 * installed as the build user and rebuilt with `rpmbuild -bs`; then
 * `rpmbuild -br` (which runs %generate_buildrequires when the spec has it)
 * is asked, *without* --nodeps, whether any BuildRequires - static or
 * generated - are missing. Exit 11 means yes: the *.buildreqs.nosrc.rpm it
 * writes goes to the package manager's builddep, and the question is asked
 * again; exit 0 means the buildroot is complete. Mock asks with --nodeps,
 * so it always gets 11 and runs the resolver once more than needed per
 * loop, plus a separate static pass. Then the real build - or, when
 * calculating dependencies, a stop before %build.
 *
 * What the build user leaves in the topdir is read only through the
 * buildroot's SafeRoot, between commands: a link planted there (SRPMS/x.rpm
 * -> /etc/shadow, SRPMS -> /etc) is refused, never followed or deleted through.
 */
import { readdirSync, statSync } from 'node:fs';
import { writeExpandedSpec, writeInstalledPkgs } from './plugins.js';
import { basename, join } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import { readRpmPackage } from '../rpm/package.js';
import type { Buildroot } from './buildroot.js';
import { shellQuote } from './sandbox.js';

export interface BuildOptions {
  /** Stop before %build (--calculate-build-dependencies). */
  calculateOnly: boolean;
  /**
   * The buildroot already holds the locked set (--isolated-build): nothing is
   * installed; rpmbuild's own dependency check must pass instead.
   */
  locked: boolean;
  nocheck: boolean;
}

/** rpmbuild's mode for Mock's short_circuit stage. */
const shortCircuitModes: Record<string, string> = { prep: '-bp', install: '-bi', build: '-bc', binary: '-bb' };

/** The final rpmbuild call's options before the target, as Mock's rebuild_package() makes them. */
export function finalRpmbuildMode(dynamic: boolean, shortCircuit?: string): string[] {
  const sc = shortCircuit === undefined ? undefined : shortCircuitModes[shortCircuit];
  const mode = sc ? [sc, '--short-circuit'] : [dynamic ? '-ba' : '-bb'];
  // After the -br rounds %prep is done; a short circuit skips it anyway.
  return dynamic ? [...mode, '--noprep'] : mode;
}

export interface BuildOutcome {
  /** The produced files: paths inside the buildroot (see Buildroot.fs), checked to be regular files. */
  srpms: string[];
  rpms: string[];
  /** The final *.buildreqs.nosrc.rpm, kept when calculating dependencies. */
  buildreqsNosrc?: string;
  /** Times the package manager installed BuildRequires. */
  resolverRounds: number;
}

function buildError(what: string, br: Buildroot): IsomockError {
  return new IsomockError(`${what}; see ${join(br.logs.dir, 'build.log')}`, ExitCode.build);
}

/** Files in a topdir directory (recursively: binary RPMs may sit in per-arch subdirectories), as buildroot paths. */
function listFiles(br: Buildroot, dir: string, recursive = false): string[] {
  return br.fs
    .list(dir, { recursive })
    .filter((e) => e.kind === 'file')
    .map((e) => `${dir}/${e.path}`);
}

/** Host path of a regular file the build left in the buildroot, checked now (between commands). */
function builtFile(br: Buildroot, file: string): string {
  const found = br.fs.lookup(file);
  if (found?.kind !== 'file') throw buildError(`rpmbuild left no file ${file}`, br);
  return br.inRoot(file);
}

/** Empties SRPMS before rpmbuild writes there: a planted link is unlinked, never followed. */
function clearDir(br: Buildroot, dir: string): void {
  const fs = br.fs;
  for (const name of fs.names(dir)) fs.remove(`${dir}/${name}`);
}

const isNosrc = (f: string): boolean => f.endsWith('.buildreqs.nosrc.rpm');

/**
 * rpmbuild as the build user, through a login shell as Mock runs it; output
 * to build.log; each call within rpmbuild_timeout. `tail` (Mock's
 * rpmbuild_opts) is appended unquoted, as Mock joins it into the shell's
 * command line; it runs inside the sandbox only.
 */
async function rpmbuildAs(br: Buildroot, args: string[], tail = ''): Promise<number> {
  const cmd = ['rpmbuild', ...args];
  const line = [...cmd.map(shellQuote), ...(tail ? [tail] : [])].join(' ');
  const seconds = br.config.rpmbuildTimeout;
  const { code } = await br.runInside(['/bin/bash', '--login', '-c', line], {
    log: br.logs.build,
    ...(seconds > 0 && { timeout: { seconds, command: cmd.join(' ') } }),
  });
  return code;
}

const topdirOf = (br: Buildroot): string => String(br.config.macros['%_topdir'] ?? `${br.config.chroothome}/build`);

/**
 * Mock's --buildsrpm: the spec and its sources (a directory's files, or one
 * file) copied in for the build user, then `rpmbuild -bs`. Returns the
 * source package's host path.
 */
export async function buildSrpmFromSpec(br: Buildroot, spec: string, sources?: string): Promise<string> {
  const topdir = topdirOf(br);
  const srpmsDir = `${topdir}/SRPMS`;
  // Root reads them, and kojid puts them inside the buildroot: a link is refused, never followed.
  br.copyIn(spec, `${topdir}/SPECS/${basename(spec)}`, true);
  if (sources) {
    const files = statSync(sources).isDirectory()
      ? readdirSync(sources, { withFileTypes: true })
          .filter((e) => !e.isDirectory())
          .map((e) => join(sources, e.name))
      : [sources];
    for (const f of files) br.copyIn(f, `${topdir}/SOURCES/${basename(f)}`, true);
  }
  clearDir(br, srpmsDir);
  const code = await rpmbuildAs(br, [
    '-bs',
    '--target',
    br.config.rpmbuildArch,
    '--nodeps',
    `${topdir}/SPECS/${basename(spec)}`,
  ]);
  if (code !== 0) throw buildError(`rpmbuild -bs of ${basename(spec)} failed (exit ${code})`, br);
  const built = listFiles(br, srpmsDir).find((f) => f.endsWith('.src.rpm'));
  if (!built) throw buildError(`rpmbuild -bs of ${basename(spec)} wrote no source package`, br);
  return built;
}

/** One `rpmbuild -br` round's arguments: %prep runs in the first round only. */
export function buildRequiresArgs(round: number, target: string[], spec: string, prepDone = false): string[] {
  return ['-br', ...(round > 1 || prepDone ? ['--noprep'] : []), ...target, spec];
}

/**
 * What one `rpmbuild -br` exit code means in the BuildRequires loop: 'done'
 * (0: the buildroot is complete), 'install' (11: rpmbuild wrote a
 * *.buildreqs.nosrc.rpm of unmet BuildRequires, for builddep), or why the
 * build fails (another code; any missing one in locked mode; too many rounds).
 */
export function buildRequiresStep(
  code: number,
  round: number,
  maxRounds: number,
  locked: boolean,
): 'done' | 'install' | { fail: string } {
  if (code === 0) return 'done';
  if (code !== 11) return { fail: `rpmbuild -br failed (exit ${code})` };
  if (locked) return { fail: 'the SRPM needs BuildRequires the lockfile does not hold (rpmbuild -br exit 11)' };
  if (round > maxRounds) return { fail: `BuildRequires still missing after ${maxRounds} rounds` };
  return 'install';
}

/** Mock's final call: finalRpmbuildMode's stage, then the target and the spec, and --nocheck when asked. */
export function finalBuildArgs(
  dynamic: boolean,
  nocheck: boolean,
  target: string[],
  spec: string,
  shortCircuit?: string,
): string[] {
  const args = [...finalRpmbuildMode(dynamic, shortCircuit), ...target, spec];
  return nocheck ? [...args, '--nocheck'] : args;
}

export async function buildSrpm(br: Buildroot, srpm: string, options: BuildOptions): Promise<BuildOutcome> {
  const topdir = topdirOf(br);
  const name = basename(srpm);
  const srpmsDir = `${topdir}/SRPMS`;
  const target = ['--target', br.config.rpmbuildArch];
  const rpmbuild = (args: string[]): Promise<number> => rpmbuildAs(br, args);
  const shortCircuit = br.config.shortCircuit;
  // The spec's name and whether it generates BuildRequires come from the headers, read here.
  const info = await readRpmPackage(srpm);
  const specName = info.files.map((f) => f.path.replace(/^.*\//, '')).find((f) => f.endsWith('.spec'));
  if (!specName) throw buildError(`${name} holds no .spec file`, br);
  const spec = `${topdir}/SPECS/${specName}`;

  await br.logs.step(`build setup for ${name}`, async () => {
    br.copyIn(srpm, `${topdir}/originals/${name}`);
    const installed = await br.runInside(['/usr/bin/rpm', '-Uvh', '--nodeps', `${topdir}/originals/${name}`]);
    if (installed.code !== 0) throw buildError(`cannot install ${name} in the buildroot`, br);
    clearDir(br, srpmsDir);
    const code = await rpmbuild(['-bs', ...target, '--nodeps', spec]);
    if (code !== 0) throw buildError(`rpmbuild -bs failed (exit ${code})`, br);
  });
  const rebuilt = listFiles(br, srpmsDir).find((f) => f.endsWith('.src.rpm'));
  if (!rebuilt) throw buildError(`rpmbuild -bs of ${name} wrote no source package`, br);
  const dynamic = (await readRpmPackage(builtFile(br, rebuilt))).dependencies.requires.some(
    (d) => d.name === 'rpmlib(DynamicBuildRequires)',
  );

  let resolverRounds = 0;
  let buildreqsNosrc: string | undefined;
  await br.logs.step(`BuildRequires for ${name}`, async () => {
    const maxRounds = br.config.staticMaxLoops + br.config.dynamicBuildrequiresMaxLoops;
    for (let round = 1; ; round++) {
      // A short circuit builds on the last %prep: the static check must not redo it.
      const prepDone = shortCircuit !== undefined && !dynamic;
      const step = buildRequiresStep(
        await rpmbuild(buildRequiresArgs(round, target, spec, prepDone)),
        round,
        maxRounds,
        options.locked,
      );
      if (step === 'done') break;
      if (step !== 'install') throw buildError(step.fail, br);
      // Without %generate_buildrequires rpmbuild writes no nosrc.rpm: the static ones are the SRPM's.
      const nosrcs = listFiles(br, srpmsDir).filter(isNosrc);
      const wanted = nosrcs.length ? nosrcs : [rebuilt];
      let changed = false;
      for (const f of wanted) changed = (await br.packageManager(['builddep', builtFile(br, f)])).changed || changed;
      for (const f of nosrcs) br.fs.remove(f);
      resolverRounds++;
      if (!changed)
        throw buildError('rpmbuild reports missing BuildRequires that the package manager installs nothing for', br);
    }
    if (dynamic && options.calculateOnly) {
      // Mock keeps the final nosrc.rpm (static + generated BuildRequires); --nodeps writes it even when all are met.
      const code = await rpmbuild(['-br', '--noprep', ...target, '--nodeps', spec]);
      if (code !== 0 && code !== 11) throw buildError(`rpmbuild -br failed (exit ${code})`, br);
      buildreqsNosrc = listFiles(br, srpmsDir).filter(isNosrc)[0];
    }
  });

  // Mock's postdeps hook.
  await writeInstalledPkgs(br);
  await writeExpandedSpec(br, spec);

  if (!options.calculateOnly) {
    await br.logs.step(`rpmbuild ${name}`, async () => {
      // Mock's final call; the buildroot is complete, so rpmbuild's own dependency check stays on.
      // Packages a --no-clean root kept from an earlier build are not this build's results.
      clearDir(br, `${topdir}/RPMS`);
      const args = finalBuildArgs(dynamic, options.nocheck, target, spec, shortCircuit);
      const code = await rpmbuildAs(br, args, br.config.rpmbuildOpts);
      if (code !== 0) throw buildError(`rpmbuild of ${name} failed (exit ${code})`, br);
    });
  }
  const rpms = options.calculateOnly ? [] : listFiles(br, `${topdir}/RPMS`, true).filter((f) => f.endsWith('.rpm'));
  if (shortCircuit !== undefined && rpms.length === 0) br.logs.info("Short circuit builds don't produce RPMs");
  return {
    srpms: listFiles(br, srpmsDir).filter((f) => f.endsWith('.src.rpm') && !isNosrc(f)),
    rpms,
    buildreqsNosrc,
    resolverRounds,
  };
}
