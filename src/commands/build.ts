/**
 * The build commands: `--rebuild` (the default) and
 * `--calculate-build-dependencies`, which is the same preparation stopped
 * before %build, plus the lockfile. Library API: the CLI is a thin layer over it.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import type { Buildroot } from '../buildroot/buildroot.js';
import type { BuildLogs } from '../buildroot/logs.js';
import { recordLockfile } from '../buildroot/lock-record.js';
import { buildSrpm, buildSrpmFromSpec, type BuildOutcome } from '../buildroot/rpmbuild.js';
import { serializeLockfile } from '../lockfile/lockfile.js';
import { serializeRecord, recordPathFor, sha256OfFile } from '../lockfile/record.js';
import { inBuildroot, type SessionRequest } from './chroot-session.js';
import { scanChroot } from '../buildroot/plugins.js';

/**
 * A build in the session's life cycle (chroot-session.ts), with its cleanup
 * policy. An `install` replaces chroot_setup_cmd and the BuildRequires loops
 * (--isolated-build: the locked set): rpmbuild's own dependency checks must pass.
 */
export interface BuildRequest extends Omit<SessionRequest, 'clean' | 'cleanupPolicy' | 'prebuild'> {
  srpms: string[];
  /**
   * Make an SRPM from a spec and its sources first (--spec/--sources); with
   * `rebuild` it is then built in the same root as one more of `srpms`, as
   * Mock's rebuild mode does (--buildsrpm alone stops at the SRPM).
   */
  fromSpec?: { spec: string; sources?: string; rebuild: boolean };
  calculateOnly: boolean;
  noClean: boolean;
  nocheck: boolean;
}

export interface BuildReport {
  resultdir: string;
  results: string[];
  lockfile?: string;
  timings: { step: string; seconds: number }[];
}

/**
 * Copies a result (a regular file inside the buildroot, opened O_NOFOLLOW) into
 * the result dir under a fresh temporary name, then renames: it appears whole
 * or not at all, and a link planted in either directory is never followed.
 */
function publish(br: Buildroot, logs: BuildLogs, file: string): string {
  return logs.fs.copyFrom(br.fs, file, basename(file), { mode: 0o644 });
}

export async function runBuild(req: BuildRequest): Promise<BuildReport> {
  const { config } = req;
  const inputs: [string, string | undefined][] = [...req.srpms.map((p): [string, string] => ['SRPM', p])];
  if (req.fromSpec) inputs.push(['spec', req.fromSpec.spec], ['sources', req.fromSpec.sources]);
  for (const [what, path] of inputs) {
    if (path !== undefined && !existsSync(path))
      throw new IsomockError(`no such ${what}: ${path}`, ExitCode.badCmdline);
  }
  const session = { ...req, clean: !req.noClean, cleanupPolicy: true, prebuild: !config.shortCircuit };
  return inBuildroot(session, async ({ br, logs, bootstrap }) => {
    const results: string[] = [];
    const srpms = [...req.srpms];
    let lockfile: string | undefined;
    if (req.fromSpec) {
      const { spec, sources } = req.fromSpec;
      const srpm = await logs.step(`rpmbuild -bs ${basename(spec)}`, () => buildSrpmFromSpec(br, spec, sources));
      const published = publish(br, logs, srpm);
      results.push(published);
      if (req.fromSpec.rebuild) srpms.push(published);
    }
    for (const srpm of srpms) {
      const outcome: BuildOutcome = await logs.step(`build phase for ${basename(srpm)}`, () =>
        buildSrpm(br, srpm, {
          calculateOnly: req.calculateOnly,
          locked: req.install !== undefined,
          nocheck: req.nocheck,
        }),
      );
      // The rebuilt SRPM replaces one of the same name made from --spec: the result dir holds one.
      for (const f of [...outcome.srpms, ...outcome.rpms]) {
        const out = publish(br, logs, f);
        if (!results.includes(out)) results.push(out);
      }
      if (outcome.buildreqsNosrc) results.push(publish(br, logs, outcome.buildreqsNosrc));
      if (req.calculateOnly || config.lockPlugin) {
        await logs.step('Generating the buildroot lockfile: buildroot_lock.json', async () => {
          const { lock, record } = await recordLockfile(br, bootstrap);
          // The SRPMs this buildroot was calculated for (the given one, and the -bs one as published): others are refused.
          const published = outcome.srpms.map((f) => join(config.resultdir, basename(f)));
          record.srpms = await Promise.all(
            [...new Set([srpm, ...published])].map(async (f) => ({ name: basename(f), sha256: await sha256OfFile(f) })),
          );
          lockfile = join(config.resultdir, 'buildroot_lock.json');
          // The record first: a lockfile never sits beside a stale record of another buildroot.
          logs.fs.writeFile(basename(recordPathFor(lockfile)), serializeRecord(record));
          logs.fs.writeFile(basename(lockfile), serializeLockfile(lock));
        });
      }
    }
    // Mock's post_install: the binary packages, from the result dir, into this buildroot (before Mock's cleanup).
    const built = results.filter((f) => f.endsWith('.rpm') && !f.endsWith('.src.rpm') && !f.endsWith('.nosrc.rpm'));
    if (config.postInstall && !req.calculateOnly && built.length > 0) {
      await logs.step('Installing built packages', () =>
        br.packageManager(['install', ...built], br.hostFileBinds(built)),
      );
    }
    await scanChroot(br, false);
    return { resultdir: config.resultdir, results, lockfile, timings: logs.timings };
  });
}
