/**
 * isomock as a library: Mock's builds and its isolated (hermetic) build
 * workflow, callable from a program. Each call takes plain data, a logger's
 * verbosity and an optional AbortSignal; none of them touches the process
 * (no signal handlers, no exit, no argv). Failures are `IsomockError`s
 * carrying Mock's exit code. Needs root for anything that makes a buildroot.
 *
 * The isolated workflow, as Mock's three steps:
 *
 *   const { config } = loadBuildConfig({ root: 'fedora-rawhide-x86_64' });
 *   const calc = await calculate({ config, srpm });                 // buildroot_lock.json
 *   await prefetch({ lockfile: calc.lockfile!, outputRepo: repo });  // the offline repository
 *   await isolatedBuild({ lockfile: calc.lockfile!, repo, srpms: [srpm] }); // no network, proven
 */
import { onlineBootstrap } from './buildroot/bootstrap.js';
import { buildConfigFrom, type BuildConfig } from './buildroot/build-config.js';
import type { Verbosity } from './buildroot/logs.js';
import { runBuild, type BuildReport } from './commands/build.js';
import { runIsolatedBuild, type IsolatedBuildRequest } from './commands/isolated-build.js';
import { runnable } from './config/arch.js';
import { loadConfig, type LoadOptions } from './config/load.js';
import { getImage, imageContext } from './image/source.js';
import { imageMetadata, type ImageMetadata } from './image/inspect.js';

export { ExitCode, IsomockError } from './errors.js';
export { isolatedRepo as prefetch } from './commands/isolated-repo.js';
export type {
  IsolatedRepoOptions as PrefetchOptions,
  IsolatedRepoResult as PrefetchResult,
} from './commands/isolated-repo.js';
export type { BuildConfig, BuildReport, ImageMetadata, IsolatedBuildRequest, LoadOptions, Verbosity };

/** A config as Mock reads it (`-r NAME` with --configdir, site-defaults, the command-line options). */
export interface LoadedBuildConfig {
  /** The typed view the engine uses (with what a lockfile records of it). */
  config: BuildConfig;
}

/** Reads a Mock config; refuses one that needs an emulated arch (exit 6). */
export function loadBuildConfig(options: LoadOptions): LoadedBuildConfig {
  return { config: buildConfigFrom(runnable(loadConfig(options).raw)) };
}

export interface BuildOptions extends LoadedBuildConfig {
  srpm: string;
  /** Keep the buildroot's previous state (Mock's --no-clean). */
  noClean?: boolean;
  /** Skip %check (Mock's --nocheck). */
  nocheck?: boolean;
  verbosity?: Verbosity;
  /** Where progress lines go, as the verbosity asks (nowhere when absent). */
  console?: NodeJS.WritableStream;
  signal?: AbortSignal;
}

function build(o: BuildOptions, calculateOnly: boolean): Promise<BuildReport> {
  return runBuild({
    config: o.config,
    srpms: [o.srpm],
    calculateOnly,
    noClean: o.noClean ?? false,
    nocheck: o.nocheck ?? false,
    verbosity: o.verbosity ?? 'quiet',
    bootstrap: onlineBootstrap(o.config),
    ...(o.console && { console: o.console }),
    ...(o.signal && { signal: o.signal }),
  });
}

/** `--rebuild`: builds the SRPM in a fresh buildroot; the RPMs and logs land in the config's result dir. */
export function rebuild(o: BuildOptions): Promise<BuildReport> {
  return build(o, false);
}

/**
 * `--calculate-build-dependencies`: every BuildRequires round, stopped before
 * %build; writes buildroot_lock.json (and the isomock record beside it).
 */
export function calculate(o: BuildOptions): Promise<BuildReport> {
  return build(o, true);
}

/**
 * `--isolated-build LOCKFILE REPO SRPM`: a fresh buildroot from REPO alone.
 * Always runs in a network namespace of its own, whose cut it proves first.
 */
export function isolatedBuild(
  request: Omit<IsolatedBuildRequest, 'configOptions' | 'nocheck' | 'verbosity'> &
    Partial<Pick<IsolatedBuildRequest, 'configOptions' | 'nocheck' | 'verbosity'>>,
  signal?: AbortSignal,
): Promise<BuildReport> {
  return runIsolatedBuild({ configOptions: {}, nocheck: false, verbosity: 'quiet', ...request }, signal);
}

/** What Mock's lockfile records of a bootstrap image (pull digest, image digest, id, arch), pulled if need be. */
export async function inspectImage(reference: string, arch?: string): Promise<ImageMetadata> {
  const ctx = imageContext(arch !== undefined ? { arch } : {});
  return imageMetadata(await getImage(ctx, reference, false));
}
