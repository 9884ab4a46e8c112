/**
 * The build commands: `--rebuild` (the default) and
 * `--calculate-build-dependencies`, which is the same preparation stopped
 * before %build, plus the lockfile. Library API: the CLI is a thin layer over it.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import { Buildroot, type BootstrapTree, type BuildrootBind } from '../buildroot/buildroot.js';
import type { BuildConfig } from '../buildroot/build-config.js';
import { lockRoot } from '../buildroot/lock.js';
import { BuildLogs, type Verbosity } from '../buildroot/logs.js';
import { withAbortSignal } from '../buildroot/process.js';
import { recordLockfile } from '../buildroot/lock-record.js';
import { buildSrpm, buildSrpmFromSpec, type BuildOutcome } from '../buildroot/rpmbuild.js';
import { isDict, truthy, type PyDict } from '../python/value.js';
import { withUniqueRoot } from '../config/options.js';
import { expandedOption } from '../config/template.js';
import { serializeLockfile, type LockedBootstrap } from '../lockfile/lockfile.js';
import { serializeRecord, recordPathFor, sha256OfFile } from '../lockfile/record.js';

export interface BuildRequest {
  config: BuildConfig;
  /** The loaded config dictionary (for the keys a lockfile records). */
  rawConfig: PyDict;
  srpms: string[];
  /**
   * Make an SRPM from a spec and its sources first (--spec/--sources); with
   * `rebuild` it is then built in the same root as one more of `srpms`, as
   * Mock's rebuild mode does (--buildsrpm alone stops at the SRPM).
   */
  fromSpec?: { spec: string; sources?: string; rebuild: boolean };
  calculateOnly: boolean;
  /**
   * Installs the buildroot's packages instead of chroot_setup_cmd and the
   * BuildRequires loops (--isolated-build: the locked set, in one transaction).
   */
  lockedInstall?: (br: Buildroot) => Promise<void>;
  /** Host directories bound into the buildroot (the offline repository at /hermetic_repo). */
  buildrootBinds?: BuildrootBind[];
  /** Lines for root.log and the console before anything else (e.g. the network-cut proof). */
  preamble?: string[];
  noClean: boolean;
  nocheck: boolean;
  verbosity: Verbosity;
  /** Prepares the bootstrap tree (image pulled, verified, unpacked) when the config uses one. */
  bootstrap?: (logs: BuildLogs) => Promise<{ tree: BootstrapTree; lock: LockedBootstrap } | undefined>;
  /** Ends the build's processes gracefully; every cleanup still runs, then it rejects (InterruptedError). */
  signal?: AbortSignal;
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

/** Mock's buildroot_lock plugin, on for every build when the config or --enable-plugin says so. */
function lockPluginEnabled(raw: PyDict): boolean {
  const conf = expandedOption(withUniqueRoot(raw), 'plugin_conf');
  return isDict(conf) && truthy(conf['buildroot_lock_enable'] ?? false);
}

export function runBuild(req: BuildRequest): Promise<BuildReport> {
  return withAbortSignal(req.signal, () => build(req));
}

async function build(req: BuildRequest): Promise<BuildReport> {
  const { config } = req;
  const inputs: [string, string | undefined][] = [...req.srpms.map((p): [string, string] => ['SRPM', p])];
  if (req.fromSpec) inputs.push(['spec', req.fromSpec.spec], ['sources', req.fromSpec.sources]);
  for (const [what, path] of inputs) {
    if (path !== undefined && !existsSync(path))
      throw new IsomockError(`no such ${what}: ${path}`, ExitCode.badCmdline);
  }
  try {
    mkdirSync(config.resultdir, { recursive: true });
  } catch (err) {
    throw new IsomockError(
      `cannot create result dir ${config.resultdir}: ${(err as Error).message}`,
      ExitCode.resultDir,
    );
  }
  const logs = new BuildLogs(config.resultdir, req.verbosity);
  for (const line of req.preamble ?? []) logs.info(line);
  mkdirSync(config.basedir, { recursive: true });
  const lock = await lockRoot(join(config.basedir, `${config.root}.lock`), `root ${config.root}`, 0, (m) =>
    logs.info(m),
  );
  const results: string[] = [];
  const srpms = [...req.srpms];
  let lockfile: string | undefined;
  let made: Buildroot | undefined;
  try {
    const boot = req.bootstrap ? await logs.step('bootstrap', () => req.bootstrap!(logs)) : undefined;
    const br = new Buildroot(config, logs, boot?.tree, req.buildrootBinds);
    made = br;
    await logs.step('chroot init', async () => {
      if (!req.noClean) await br.clean();
      br.prepare();
      if (req.lockedInstall) await logs.step('installing the locked buildroot', () => req.lockedInstall!(br));
      else {
        await logs.step(`installing minimal buildroot with ${br.pm.name}`, () =>
          br.packageManager([...config.chrootSetupCmd, ...config.additionalPackages]),
        );
      }
      br.makeBuildUser();
    });
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
          locked: req.lockedInstall !== undefined,
          nocheck: req.nocheck,
        }),
      );
      // The rebuilt SRPM replaces one of the same name made from --spec: the result dir holds one.
      for (const f of [...outcome.srpms, ...outcome.rpms]) {
        const out = publish(br, logs, f);
        if (!results.includes(out)) results.push(out);
      }
      if (outcome.buildreqsNosrc) results.push(publish(br, logs, outcome.buildreqsNosrc));
      if (req.calculateOnly || lockPluginEnabled(req.rawConfig)) {
        await logs.step('Generating the buildroot lockfile: buildroot_lock.json', async () => {
          const { lock, record } = await recordLockfile(br, req.rawConfig, boot?.lock);
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
    // Mock's cleanup_on_success (off when the result dir is inside the root's own dir).
    if (config.cleanupOnSuccess) await logs.step('clean chroot', () => br.clean());
    return { resultdir: config.resultdir, results, lockfile, timings: logs.timings };
  } catch (err) {
    if (req.signal?.aborted) logs.interrupted(req.signal.reason);
    if (made && config.cleanupOnFailure) await logs.step('clean chroot', () => made!.clean()).catch(() => undefined);
    throw err;
  } finally {
    lock.release();
    await logs.close();
  }
}
