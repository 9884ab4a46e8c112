/**
 * The build phase, with Mock's rules: install the SRPM as the build user,
 * rebuild it with `rpmbuild -bs` and install its static BuildRequires until
 * nothing changes, then the %generate_buildrequires loop (`rpmbuild -br`,
 * exit 0 or 11; install what *.buildreqs.nosrc.rpm asks for; repeat until
 * nothing new is installed), then the real build - or, when calculating
 * dependencies, stop before %build.
 */
import { readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
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
  /** Extra rpmbuild arguments from --with/--without. */
  rpmbuildOpts: string[];
}

export interface BuildOutcome {
  /** Host paths of the produced files, in the buildroot. */
  srpms: string[];
  rpms: string[];
  /** The final *.buildreqs.nosrc.rpm, kept when calculating dependencies. */
  buildreqsNosrc?: string;
  dynamicRounds: number;
}

function buildError(what: string, br: Buildroot): IsomockError {
  return new IsomockError(`${what}; see ${join(br.logs.dir, 'build.log')}`, ExitCode.build);
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export async function buildSrpm(br: Buildroot, srpm: string, options: BuildOptions): Promise<BuildOutcome> {
  const topdir = String(br.config.macros['%_topdir'] ?? `${br.config.chroothome}/build`);
  const name = basename(srpm);
  const inside = `${topdir}/originals/${name}`;
  br.copyIn(srpm, inside);
  const target = ['--target', br.config.rpmbuildArch];
  const rpmbuild = async (args: string[], network = br.config.rpmbuildNetworking): Promise<number> => {
    const cmd = ['rpmbuild', ...args, ...options.rpmbuildOpts].map(shellQuote).join(' ');
    const { code } = await br.runInside(['/bin/bash', '--login', '-c', cmd], { log: br.logs.build, network });
    return code;
  };

  const spec = await br.logs.step(`build setup for ${name}`, async () => {
    const installed = await br.runInside(['/usr/bin/rpm', '-Uvh', '--nodeps', inside]);
    if (installed.code !== 0) throw buildError(`cannot install ${name} in the buildroot`, br);
    const listing = await br.runInside(['/usr/bin/rpm', '-qpl', inside], { capture: true });
    const specName = listing.stdout.split('\n').find((f) => f.endsWith('.spec'));
    if (!specName) throw buildError(`${name} holds no .spec file`, br);
    const specPath = `${topdir}/SPECS/${specName}`;
    if (options.locked) {
      const code = await rpmbuild(['-bs', ...target, '--nodeps', specPath]);
      if (code !== 0) throw buildError(`rpmbuild -bs failed (exit ${code})`, br);
    } else {
      await staticBuildRequires(br, specPath, target, rpmbuild, topdir);
    }
    return specPath;
  });

  const srpmsDir = br.inRoot(`${topdir}/SRPMS`);
  const dynamic = await usesDynamicBuildRequires(br, topdir);
  let dynamicRounds = 0;
  let buildreqsNosrc: string | undefined;
  if (dynamic && options.locked) {
    await br.logs.step(`dynamic BuildRequires for ${name}`, async () => {
      dynamicRounds = 1;
      const code = await rpmbuild(['-br', ...target, spec]);
      if (code !== 0) throw buildError(`%generate_buildrequires asks for packages the lockfile does not hold (rpmbuild -br exit ${code})`, br);
    });
  } else if (dynamic) {
    await br.logs.step(`dynamic BuildRequires for ${name}`, async () => {
      let before = await br.installed();
      for (;;) {
        if (dynamicRounds >= br.config.dynamicBuildrequiresMaxLoops) {
          throw buildError(`%generate_buildrequires still wants more after ${dynamicRounds} rounds`, br);
        }
        dynamicRounds++;
        const code = await rpmbuild(['-br', ...(dynamicRounds > 1 ? ['--noprep'] : []), ...target, '--nodeps', spec]);
        // 11: rpmbuild wrote a *.buildreqs.nosrc.rpm listing unmet dynamic BuildRequires.
        if (code !== 0 && code !== 11) throw buildError(`rpmbuild -br failed (exit ${code})`, br);
        const nosrcs = readdirSync(srpmsDir).filter((f) => f.endsWith('.buildreqs.nosrc.rpm'));
        for (const f of nosrcs) await br.packageManager(['builddep', join(srpmsDir, f)]);
        const after = await br.installed();
        const done = sameSet(before, after);
        before = after;
        if (done && options.calculateOnly) buildreqsNosrc = nosrcs.map((f) => join(srpmsDir, f))[0];
        else for (const f of nosrcs) rmSync(join(srpmsDir, f));
        if (done) return;
      }
    });
  }

  if (!options.calculateOnly) {
    await br.logs.step(`rpmbuild ${name}`, async () => {
      // Mock's final call; with a locked buildroot rpmbuild also checks the static BuildRequires.
      const args = dynamic ? ['-ba', '--noprep', ...target, spec] : ['-bb', ...target, ...(options.locked ? [] : ['--nodeps']), spec];
      if (options.nocheck) args.push('--nocheck');
      const code = await rpmbuild(args);
      if (code !== 0) throw buildError(`rpmbuild of ${name} failed (exit ${code})`, br);
    });
  }
  const rpmsDir = br.inRoot(`${topdir}/RPMS`);
  return {
    srpms: readdirSync(srpmsDir).filter((f) => f.endsWith('.src.rpm')).map((f) => join(srpmsDir, f)),
    rpms: options.calculateOnly ? [] : listRpms(rpmsDir),
    buildreqsNosrc,
    dynamicRounds,
  };
}

/** Binary RPMs, flat or in per-arch subdirectories (depends on %_rpmfilename). */
function listRpms(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.rpm'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** `rpmbuild -bs` then builddep on the result, until the installed set stops changing. */
async function staticBuildRequires(
  br: Buildroot,
  spec: string,
  target: string[],
  rpmbuild: (args: string[], network?: boolean) => Promise<number>,
  topdir: string,
): Promise<void> {
  const srpmsDir = br.inRoot(`${topdir}/SRPMS`);
  let before = await br.installed();
  for (let loop = 0; loop < br.config.staticMaxLoops; loop++) {
    for (const f of readdirSync(srpmsDir)) rmSync(join(srpmsDir, f));
    const code = await rpmbuild(['-bs', ...target, '--nodeps', spec]);
    if (code !== 0) throw buildError(`rpmbuild -bs failed (exit ${code})`, br);
    const rebuilt = readdirSync(srpmsDir).filter((f) => f.endsWith('.src.rpm'));
    for (const f of rebuilt) await br.packageManager(['builddep', join(srpmsDir, f)]);
    const after = await br.installed();
    if (sameSet(before, after)) return;
    before = after;
  }
}

/** Whether the rebuilt SRPM declares rpmlib(DynamicBuildRequires), as Mock checks. */
async function usesDynamicBuildRequires(br: Buildroot, topdir: string): Promise<boolean> {
  const srpmsDir = `${topdir}/SRPMS`;
  const srpm = readdirSync(br.inRoot(srpmsDir)).find((f) => f.endsWith('.src.rpm') && !f.endsWith('.buildreqs.nosrc.rpm'));
  if (!srpm) return false;
  const { stdout } = await br.runInside(['/usr/bin/rpm', '-qpR', `${srpmsDir}/${srpm}`], { capture: true });
  return stdout.split('\n').some((l) => l.startsWith('rpmlib(DynamicBuildRequires)'));
}
