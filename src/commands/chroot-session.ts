/**
 * The one buildroot life cycle every mode uses (Mock's `commands.init()` and
 * `rebuild_generic`), in this order: the root lock; the clean when asked
 * (Mock's: the root's whole dir); the result dir and the logs in it (so a
 * second isomock on a busy root fails before it writes a byte there); the
 * bootstrap; the buildroot, set up only when it carries no `.initialized`
 * marker (chroot_setup_cmd, or the caller's install), the build user
 * (re)made, the marker written; then the caller's work. When the caller asks for Mock's cleanup policy (the build
 * modes), `cleanup_on_success` / `cleanup_on_failure` remove the buildroot
 * after it. An abort ends every child (process.ts) and every step above still
 * unwinds: logs closed, lock released.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { makeWritableDirAs } from '../util/as-user.js';
import { invokerIds } from '../util/invoker.js';
import { SafeRoot } from '../util/safe-fs.js';
import { ExitCode, IsomockError } from '../errors.js';
import { Buildroot, type BuildrootBind } from '../buildroot/buildroot.js';
import type { PreparedBootstrap } from '../buildroot/bootstrap.js';
import type { BuildConfig } from '../buildroot/build-config.js';
import { lockRoot } from '../buildroot/lock.js';
import { BuildLogs, type Verbosity } from '../buildroot/logs.js';
import { withAbortSignal } from '../buildroot/process.js';
import type { LockedBootstrap } from '../lockfile/lockfile.js';
import { cleanRoot } from './scrub.js';
import { logPluginNotices, scanChroot, writeAvailablePkgs, writeHwInfo } from '../buildroot/plugins.js';

/** Prepares the bootstrap tree (image pulled or loaded, verified, unpacked), or undefined when there is none. */
type PrepareBootstrap = (
  logs: BuildLogs,
) => Promise<{ tree: PreparedBootstrap['tree']; lock: LockedBootstrap } | undefined>;

export interface SessionRequest {
  config: BuildConfig;
  verbosity: Verbosity;
  /** Where progress lines go (see BuildLogs); nowhere when absent. */
  console?: NodeJS.WritableStream;
  bootstrap?: PrepareBootstrap;
  /** Remove the buildroot first (Mock's clean: a build without --no-clean, --init). */
  clean?: boolean;
  /** Installs the packages instead of chroot_setup_cmd (--isolated-build: the locked set, in one transaction). */
  install?: (br: Buildroot) => Promise<void>;
  /** Host directories bound into the buildroot (the offline repository at /hermetic_repo). */
  binds?: BuildrootBind[];
  /** Lines for root.log and the console before anything else (e.g. the network-cut proof). */
  preamble?: string[];
  /** isomock's warnings, after the preamble (root.log, and the console unless quiet). */
  warnings?: string[];
  /** Apply cleanup_on_success / cleanup_on_failure after the work (the build modes, as Mock's rebuild_generic). */
  cleanupPolicy?: boolean;
  /** Ends the session's processes gracefully; the unwinding still runs, then it rejects (InterruptedError). */
  signal?: AbortSignal;
}

/** What the work runs with. */
export interface Session {
  br: Buildroot;
  logs: BuildLogs;
  /** What the lockfile records of the bootstrap image, when there is one. */
  bootstrap?: LockedBootstrap;
}

const initializedMarker = '.initialized';

/** Runs fn holding the root's lock: Mock's exit code 60 at once when another process has it. */
export async function withRootLock<T>(config: BuildConfig, fn: () => Promise<T>): Promise<T> {
  mkdirSync(config.basedir, { recursive: true });
  // waitMs 0: a busy lock fails at once, so there is no wait to tell anyone about.
  const lock = await lockRoot(join(config.basedir, `${config.root}.lock`), `root ${config.root}`, 0, () => undefined);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

function openLogs(req: SessionRequest): BuildLogs {
  const { resultdir } = req.config;
  const owner = resultOwner(req.config);
  try {
    if (owner) resultDirFor(req.config, owner);
    else mkdirSync(resultdir, { recursive: true });
  } catch (err) {
    if (err instanceof IsomockError) throw err;
    throw new IsomockError(`cannot create result dir ${resultdir}: ${(err as Error).message}`, ExitCode.resultDir);
  }
  return new BuildLogs(resultdir, req.verbosity, req.console, owner);
}

/**
 * Mock's owner of the result dir and its files, chrootuid:chrootgid, when
 * isomock runs as root for another user (sudo); as root for itself, root's.
 */
function resultOwner(config: BuildConfig): [number, number] | undefined {
  return invokerIds() ? [config.chrootUid, config.chrootGid] : undefined;
}

/**
 * The result dir as Mock's create_resultdir makes it, as the build user: made
 * (mkdir -p) and checked writable by that user, so no one can have isomock
 * write where they could not. Inside the root's own directory, which only
 * root may write, isomock makes the missing part and gives it to the user.
 */
function resultDirFor(config: BuildConfig, [uid, gid]: [number, number]): void {
  const own = join(config.basedir, config.root);
  const rel = relative(own, config.resultdir);
  if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) {
    mkdirSync(own, { recursive: true });
    new SafeRoot(own, ExitCode.resultDir, `${own}`, [uid, gid]).mkdirs(rel);
  }
  makeWritableDirAs({ uid, gid }, config.resultdir, ExitCode.resultDir);
}

/** Skeleton and config always; the package set, its listing and the marker only for a root not initialized before. */
async function initialize(br: Buildroot, install: SessionRequest['install']): Promise<void> {
  const { config, logs } = br;
  const fresh = !existsSync(br.path) || br.fs.lookup(initializedMarker) === undefined;
  logPluginNotices(br);
  await logs.step('chroot init', async () => {
    br.prepare();
    await writeHwInfo(br);
    if (fresh) {
      if (install) await logs.step('installing the locked buildroot', () => install(br));
      else {
        const setup = [...config.chrootSetupCmd, ...config.additionalPackages];
        if (setup.length > 0) {
          await logs.step(`installing minimal buildroot with ${br.pm.name}`, () => br.packageManager(setup));
          await writeAvailablePkgs(br);
        }
      }
    }
    br.makeBuildUser();
    br.fs.writeFile(initializedMarker, '');
  });
  if (fresh) logs.root.write(`INFO: Installed packages:\n${(await br.installed()).join('\n')}\n`);
}

/** Mock's cleanup_on_success / cleanup_on_failure, logged as Mock logs it. */
async function cleanUp(br: Buildroot, option: 'cleanup_on_success' | 'cleanup_on_failure'): Promise<void> {
  br.logs.info(`Cleaning up build root ('${option}=True')`);
  await br.logs.step('clean chroot', () => br.clean());
}

/** Runs fn in the buildroot, through the whole life cycle above. */
export function inBuildroot<T>(req: SessionRequest, fn: (s: Session) => Promise<T>): Promise<T> {
  return withAbortSignal(req.signal, () =>
    withRootLock(req.config, async () => {
      // Mock's clean removes the root's whole dir, the default result dir in it too: before the logs open there.
      if (req.clean) await cleanRoot(req.config);
      const logs = openLogs(req);
      let br: Buildroot | undefined;
      try {
        for (const line of req.preamble ?? []) logs.info(line);
        for (const line of req.warnings ?? []) logs.warning(line, false);
        const { isolation } = req.config;
        if (isolation === 'nspawn' || isolation === 'simple')
          logs.info(
            `isolation '${isolation}': isomock runs every command in namespaces of its own (unshare, chroot), not ${isolation === 'nspawn' ? 'systemd-nspawn' : 'a plain chroot'}`,
          );
        const boot = req.bootstrap ? await logs.step('bootstrap', () => req.bootstrap!(logs)) : undefined;
        br = new Buildroot(req.config, logs, boot?.tree, req.binds);
        await initialize(br, req.install);
        const result = await fn({ br, logs, ...(boot && { bootstrap: boot.lock }) });
        if (req.cleanupPolicy && req.config.cleanupOnSuccess) await cleanUp(br, 'cleanup_on_success');
        return result;
      } catch (err) {
        if (req.signal?.aborted) logs.interrupted(req.signal.reason);
        // Mock's chroot_scan at initfailed and after a failed build.
        else if (br) await scanChroot(br, true).catch(() => undefined);
        if (br && req.cleanupPolicy && req.config.cleanupOnFailure)
          await cleanUp(br, 'cleanup_on_failure').catch(() => undefined);
        throw err;
      } finally {
        await logs.close();
      }
    }),
  );
}
