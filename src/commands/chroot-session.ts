/**
 * The one buildroot life cycle every mode uses (Mock's `commands.init()` and
 * `rebuild_generic`), in this order: the root lock; the clean when asked
 * (Mock's: the root's whole dir); the result dir and the logs in it (so a
 * second isomock on a busy root fails before it writes a byte there); the
 * bootstrap; the buildroot, restored from Mock's root cache or set up, only
 * when it carries no `.initialized` marker (chroot_setup_cmd, or the
 * caller's install), the build user (re)made, the marker written, the root
 * cache made; then the caller's work. When the caller asks for Mock's cleanup policy (the build
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
import { scanChroot, writeAvailablePkgs, writeHwInfo } from '../buildroot/plugins.js';
import { RootCache } from '../buildroot/root-cache.js';

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
  /** Mock's prebuild: the init before a build (not --short-circuit), which updates a root it restored from the cache. */
  prebuild?: boolean;
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

/**
 * Mock's Buildroot._init, for the parts isomock has: the root cache
 * restored when the root is not initialized (preinit); skeleton and config
 * always; the package set, its listing and the marker only for a root not
 * initialized before (restored or kept). A root restored from the cache is
 * initialized, as in Mock: with prebuild it gets chroot_setup_cmd again when
 * age_check is off, and the package manager's update when online with
 * update_before_build and clean (a cache made again when the update changed
 * it: Mock's postupdate). The cache is made once a root is set up afresh, or
 * after every init with --cache-alterations (postinit), before any
 * --additional-package is installed.
 */
async function initialize(br: Buildroot, req: SessionRequest): Promise<void> {
  const { config, logs } = br;
  const isInitialized = (): boolean => existsSync(br.path) && br.fs.lookup(initializedMarker) !== undefined;
  const plan = config.plugins.rootCache;
  // An isolated build's buildroot comes from the lockfile and its repository alone: no cache is read or made.
  if (plan && req.install)
    logs.info('root_cache: not used for a locked buildroot, which is installed from the lockfile alone');
  const cache = plan && !req.install ? new RootCache(br, plan, req.signal) : undefined;
  const installOutput: string[] = [];
  let fresh = !isInitialized();
  await logs.step('chroot init', async () => {
    mkdirSync(br.path, { recursive: true });
    await writeHwInfo(br);
    const restored = fresh && cache ? await cache.restore() : false;
    fresh = !isInitialized();
    br.prepare();
    let updated = false;
    if (fresh) {
      if (req.install) await logs.step('installing the locked buildroot', () => req.install!(br));
      else await installMinimal(br, installOutput);
    } else if (req.prebuild) {
      if (plan && !plan.ageCheck) await installMinimal(br, installOutput);
      if (restored && config.online && config.updateBeforeBuild && config.cleanFirst)
        updated = await updateRestored(br);
    }
    br.makeBuildUser();
    br.fs.writeFile(initializedMarker, '');
    if (cache && (fresh || plan?.cacheAlterations || updated)) await cache.create(installOutput.join('\n'));
    // Mock installs --additional-package with the build's dependencies, after init: never into the cache.
    const extra = config.additionalPackages;
    if (extra.length > 0 && !req.install && (fresh || restored || req.prebuild))
      await logs.step('installing additional packages', () => br.packageManager(['install', ...extra]));
  });
  if (fresh) logs.root.write(`INFO: Installed packages:\n${(await br.installed()).join('\n')}\n`);
}

/** Mock's _init_pkg_management: chroot_setup_cmd and the additional packages, then package_state's postyum. */
async function installMinimal(br: Buildroot, output: string[]): Promise<void> {
  const setup = [...br.config.chrootSetupCmd, ...br.config.chrootAdditionalPackages];
  if (setup.length === 0) return;
  await br.logs.step(`installing minimal buildroot with ${br.pm.name}`, () => br.packageManager(setup, [], output));
  await writeAvailablePkgs(br);
}

/** Mock's update before a build of a root it did not install: true when the package set changed. */
async function updateRestored(br: Buildroot): Promise<boolean> {
  return br.logs.step(`${br.pm.name} update`, async () => {
    const before = await br.installed();
    const { changed } = await br.packageManager(['update']);
    await writeAvailablePkgs(br);
    if (!changed) return false;
    const fresh = (await br.installed()).filter((p) => !before.includes(p));
    if (fresh.length === 0) return false;
    br.logs.info(`Calling postupdate hooks because there are new/updated packages:\n${fresh.join('\n')}`);
    return true;
  });
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
        await initialize(br, req);
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
