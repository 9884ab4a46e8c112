/**
 * What the modes that work in a buildroot share (Mock's `commands.init()`):
 * the root lock, the logs, the bootstrap, and a buildroot initialized once -
 * chroot_setup_cmd installed, the build user made - then reused by --shell,
 * --chroot, --install and --installdeps. An initialized root carries the
 * `.initialized` marker, as Mock's does.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import { Buildroot } from '../buildroot/buildroot.js';
import type { BuildConfig } from '../buildroot/build-config.js';
import { lockRoot } from '../buildroot/lock.js';
import { BuildLogs, type Verbosity } from '../buildroot/logs.js';
import type { BuildRequest } from './build.js';
import { cleanRoot } from './scrub.js';
import { logPluginNotices, writeAvailablePkgs, writeHwInfo } from '../buildroot/plugins.js';

export interface ChrootRequest {
  config: BuildConfig;
  verbosity: Verbosity;
  /** Prepares the bootstrap tree when the config uses one (as for a build). */
  bootstrap?: BuildRequest['bootstrap'];
}

const initializedMarker = '.initialized';

/** Runs fn holding the root's lock (Mock's exit code 60 when another process has it). */
export async function withRootLock<T>(config: BuildConfig, fn: () => Promise<T>): Promise<T> {
  mkdirSync(config.basedir, { recursive: true });
  const lock = await lockRoot(join(config.basedir, `${config.root}.lock`), `root ${config.root}`, 0, (m) =>
    process.stderr.write(`INFO: ${m}\n`),
  );
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/** Skeleton and config always; the package set and its listing only for a root not initialized before. */
async function initialize(br: Buildroot): Promise<void> {
  const { config, logs } = br;
  const fresh = !existsSync(br.path) || br.fs.lookup(initializedMarker) === undefined;
  logPluginNotices(br);
  await logs.step('chroot init', async () => {
    br.prepare();
    await writeHwInfo(br);
    const setup = [...config.chrootSetupCmd, ...config.additionalPackages];
    if (fresh && setup.length > 0) {
      await logs.step(`installing minimal buildroot with ${br.pm.name}`, () => br.packageManager(setup));
      await writeAvailablePkgs(br);
    }
    br.makeBuildUser();
    br.fs.writeFile(initializedMarker, '');
  });
  if (fresh) logs.root.write(`INFO: Installed packages:\n${(await br.installed()).join('\n')}\n`);
}

/**
 * Locks the root, cleans it first when asked (--init), opens the logs in the
 * result dir, prepares the bootstrap and the buildroot, then runs fn in it.
 */
export async function inBuildroot<T>(req: ChrootRequest, fn: (br: Buildroot) => Promise<T>, clean = false): Promise<T> {
  const { config } = req;
  return withRootLock(config, async () => {
    if (clean) await cleanRoot(config);
    try {
      mkdirSync(config.resultdir, { recursive: true });
    } catch (err) {
      throw new IsomockError(
        `cannot create result dir ${config.resultdir}: ${(err as Error).message}`,
        ExitCode.resultDir,
      );
    }
    const logs = new BuildLogs(config.resultdir, req.verbosity);
    try {
      const boot = req.bootstrap ? await logs.step('bootstrap', () => req.bootstrap!(logs)) : undefined;
      const br = new Buildroot(config, logs, boot?.tree);
      await initialize(br);
      return await fn(br);
    } finally {
      await logs.close();
    }
  });
}
