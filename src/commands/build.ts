/**
 * The build commands: `--rebuild` (the default) and
 * `--calculate-build-dependencies`, which is the same preparation stopped
 * before %build, plus the lockfile. Library API: the CLI is a thin layer over it.
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import { Buildroot, type BootstrapTree, type BuildrootBind } from '../buildroot/buildroot.js';
import type { BuildConfig } from '../buildroot/build-config.js';
import { lockRoot } from '../buildroot/lock.js';
import { BuildLogs, type Verbosity } from '../buildroot/logs.js';
import { recordLockfile } from '../buildroot/lock-record.js';
import { buildSrpm, buildSrpmFromSpec, type BuildOutcome } from '../buildroot/rpmbuild.js';
import { isDict, truthy, type PyDict } from '../config/pyvalue.js';
import { withUniqueRoot } from '../config/options.js';
import { expandedOption } from '../config/template.js';
import { serializeLockfile, type LockedBootstrap } from '../lockfile/lockfile.js';
import { serializeRecord, recordPathFor, sha256OfFile } from '../lockfile/record.js';

export interface BuildRequest {
  config: BuildConfig;
  /** The loaded config dictionary (for the keys a lockfile records). */
  rawConfig: PyDict;
  srpms: string[];
  /** --buildsrpm: make the SRPM from a spec and its sources instead of building SRPMs. */
  fromSpec?: { spec: string; sources?: string };
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
}

export interface BuildReport {
  resultdir: string;
  results: string[];
  lockfile?: string;
  timings: { step: string; seconds: number }[];
}

/** Copies into the result dir under a temporary name, then renames: a result appears whole or not at all. */
function publish(resultdir: string, file: string): string {
  const dest = join(resultdir, basename(file));
  const tmp = join(resultdir, `.${basename(file)}.partial`);
  copyFileSync(file, tmp);
  renameSync(tmp, dest);
  return dest;
}

function writeAtomically(path: string, content: string): void {
  const tmp = `${path}.partial`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** Mock's buildroot_lock plugin, on for every build when the config or --enable-plugin says so. */
function lockPluginEnabled(raw: PyDict): boolean {
  const conf = expandedOption(withUniqueRoot(raw), 'plugin_conf');
  return isDict(conf) && truthy(conf['buildroot_lock_enable'] ?? false);
}

export async function runBuild(req: BuildRequest): Promise<BuildReport> {
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
      results.push(publish(config.resultdir, srpm));
    }
    for (const srpm of req.srpms) {
      const outcome: BuildOutcome = await logs.step(`build phase for ${basename(srpm)}`, () =>
        buildSrpm(br, srpm, {
          calculateOnly: req.calculateOnly,
          locked: req.lockedInstall !== undefined,
          nocheck: req.nocheck,
        }),
      );
      for (const f of [...outcome.srpms, ...outcome.rpms]) results.push(publish(config.resultdir, f));
      if (outcome.buildreqsNosrc) results.push(publish(config.resultdir, outcome.buildreqsNosrc));
      if (req.calculateOnly || lockPluginEnabled(req.rawConfig)) {
        await logs.step('Generating the buildroot lockfile: buildroot_lock.json', async () => {
          const { lock, record } = await recordLockfile(br, req.rawConfig, boot?.lock);
          // The SRPMs this buildroot was calculated for (the given one, and the -bs one as published): others are refused.
          const published = outcome.srpms.map((f) => join(config.resultdir, basename(f)));
          record.srpms = await Promise.all(
            [srpm, ...published].map(async (f) => ({ name: basename(f), sha256: await sha256OfFile(f) })),
          );
          lockfile = join(config.resultdir, 'buildroot_lock.json');
          // The record first: a lockfile never sits beside a stale record of another buildroot.
          writeAtomically(recordPathFor(lockfile), serializeRecord(record));
          writeAtomically(lockfile, serializeLockfile(lock));
        });
      }
    }
    // Mock's cleanup_on_success (off when the result dir is inside the root's own dir).
    if (config.cleanupOnSuccess) await logs.step('clean chroot', () => br.clean());
    return { resultdir: config.resultdir, results, lockfile, timings: logs.timings };
  } catch (err) {
    if (made && config.cleanupOnFailure) await logs.step('clean chroot', () => made!.clean()).catch(() => undefined);
    throw err;
  } finally {
    lock.release();
    await logs.close();
  }
}
