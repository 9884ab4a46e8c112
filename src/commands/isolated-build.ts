/**
 * `--isolated-build LOCKFILE REPO SRPM` (Mock's --hermetic-build): a fresh
 * buildroot from REPO alone, with exactly the locked packages installed in
 * one rpm transaction, then the build. Unlike Mock, the lockfile may only
 * set the options that define the buildroot, every RPM is verified against
 * it first, and the installed set must equal it afterwards.
 */
import { existsSync, lstatSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostRpmArch } from '../image/platform.js';
import { parseReference } from '../image/reference.js';
import { prepareBootstrap } from '../buildroot/bootstrap.js';
import { ExitCode, IsomockError } from '../errors.js';
import { buildConfigFrom } from '../buildroot/build-config.js';
import { runInNetworkCut } from '../buildroot/netcut.js';
import { runnable } from '../config/arch.js';
import { loadConfig, type LoadOptions } from '../config/load.js';
import { fromJson, newDict } from '../python/value.js';
import type { Buildroot } from '../buildroot/buildroot.js';
import type { Verbosity } from '../buildroot/logs.js';
import { recordedConfigKeys, readLockfile, rpmFileName, type Lockfile } from '../lockfile/lockfile.js';
import { nevra } from '../rpm/nevra.js';
import { verifyLockedRpm } from '../lockfile/verify-rpm.js';
import { readRecord, recordEntry, recordPathFor, sha256OfFile, type IsomockRecord } from '../lockfile/record.js';
import { runBuild, type BuildReport, type BuildRequest } from './build.js';
import { defaultJobs, mapLimit } from '../util/map-limit.js';
import { trustedKeyring, type SignaturePolicy } from '../signing/policy.js';
import type { Keyring } from '../signing/keyring.js';
import { verifyRpmFileSignature } from '../signing/rpm-signature.js';
import { textReaderAs, type UserIds } from '../util/as-user.js';

export interface IsolatedBuildRequest extends SignaturePolicy {
  lockfile: string;
  repo: string;
  srpms: string[];
  /** --spec/--sources instead of an SRPM: the SRPM is made in the locked buildroot, then built. */
  fromSpec?: BuildRequest['fromSpec'];
  /**
   * How to load the config: isomock's built-in isolated-build config
   * (etc/isolated-build.cfg, the default root) with site defaults and the
   * command line; the lockfile's buildroot-defining options go in between.
   * Plain data: the build runs in a child process (see runIsolatedBuild).
   */
  configOptions: Omit<LoadOptions, 'overrides' | 'readFile'>;
  /** Read the config files as this user (the invoker under sudo, as Mock does); plain data, unlike readFile. */
  readAs?: UserIds;
  nocheck: boolean;
  /** Build an SRPM other than the one the isomock record names (--accept-other-srpm). */
  acceptOtherSrpm?: boolean;
  verbosity: Verbosity;
}

/** isomock's own config for --isolated-build, shipped beside dist/. */
const isolatedBuildConfig = fileURLToPath(new URL('../../../etc/isolated-build.cfg', import.meta.url));

/** Where the offline repository appears inside the buildroot, as in Mock >= 6.7. */
const repoMountPoint = '/hermetic_repo';

function checkArch(lock: Lockfile, source: string): void {
  const host = hostRpmArch();
  const legal = lock.config['legal_host_arches'];
  const target = lock.config['target_arch'];
  const allowed = Array.isArray(legal) ? legal.map(String) : typeof target === 'string' ? [target] : [];
  if (allowed.length && !allowed.includes(host)) {
    throw new IsomockError(
      `${source} was calculated for ${String(target)} (legal host arches: ${allowed.join(', ')}); this host is ${host}`,
      ExitCode.arch,
    );
  }
}

/**
 * Every locked RPM must be in REPO and be exactly the locked file (and the
 * recorded bytes, when the isomock record is beside the lockfile). Returns host paths in lock order.
 */
async function checkRepo(
  lock: Lockfile,
  repo: string,
  record: { record: IsomockRecord | undefined; path: string },
  keyring: Keyring | undefined,
): Promise<string[]> {
  if (!existsSync(join(repo, 'repodata', 'repomd.xml'))) {
    throw new IsomockError(
      `${repo} is not an offline repository made by isolated-repo (no repodata/repomd.xml)`,
      ExitCode.badCmdline,
    );
  }
  const paths = lock.buildroot.rpms.map((rpm) => join(repo, rpmFileName(rpm)));
  // lstat: a dangling symlink is there (and refused by the check below, with its reason), not missing.
  const missing = lock.buildroot.rpms.filter((_, i) => !lstatSync(paths[i]!, { throwIfNoEntry: false })).map(nevra);
  if (missing.length) {
    throw new IsomockError(
      `${repo} lacks ${missing.length} locked package(s): ${missing.join(', ')}`,
      ExitCode.badCmdline,
    );
  }
  await mapLimit(lock.buildroot.rpms, defaultJobs, async (rpm, i) => {
    await verifyLockedRpm(paths[i]!, rpm, paths[i], recordEntry(record.record, rpm, record.path));
    if (keyring) await verifyRpmFileSignature(paths[i]!, keyring, paths[i]!);
  });
  return paths;
}

/**
 * The SRPM must be the one the buildroot was calculated for, as the isomock
 * record names it, unless the caller accepts another. Returns what to log.
 */
async function checkSrpms(
  srpms: string[],
  record: { record: IsomockRecord | undefined; path: string },
  accept: boolean,
): Promise<string[]> {
  const calculated = record.record?.srpms ?? [];
  if (!calculated.length) {
    const why = record.record ? `the isomock record ${record.path} names no SRPM` : `no isomock record ${record.path}`;
    return [`${why} (a lockfile from Mock or an older isomock): the SRPM is not compared with the calculated one`];
  }
  const notes: string[] = [];
  for (const srpm of srpms) {
    const sha256 = await sha256OfFile(srpm).catch((err: NodeJS.ErrnoException) => {
      throw new IsomockError(`cannot read SRPM ${srpm}: ${err.code ?? err.message}`, ExitCode.badCmdline);
    });
    if (calculated.some((c) => c.sha256 === sha256)) continue;
    const named = calculated.map((c) => `${c.name} (SHA-256 ${c.sha256})`).join(' or ');
    const what = `${srpm} (SHA-256 ${sha256}) is not the SRPM the lockfile was calculated for, ${named}`;
    if (!accept) throw new IsomockError(`${what}; --accept-other-srpm builds it anyway`, ExitCode.badCmdline);
    notes.push(`${what}: accepted (--accept-other-srpm)`);
  }
  return notes;
}

/**
 * The bootstrap image saved in REPO: the dir: layout Mock >= 6.7 writes
 * (`<registry>/<repository>@<pull_digest>`), else the bootstrap.tar of Mock
 * 5.7-6.6; its image_digest must be the locked one (fatal, no fallback).
 */
function savedImage(lock: Lockfile, repo: string): { image: string; assertDigest: string } {
  const boot = lock.bootstrap!;
  const name = String(lock.config['bootstrap_image'] ?? '');
  const candidates: string[] = [];
  if (boot.pull_digest && name) {
    const ref = parseReference(name);
    candidates.push(`dir:${join(repo, ref.registry, `${ref.repository}@${boot.pull_digest}`)}`);
  }
  candidates.push(`oci-archive:${join(repo, 'bootstrap.tar')}`);
  const found = candidates.find((c) => existsSync(c.slice(c.indexOf(':') + 1)));
  if (!found)
    throw new IsomockError(
      `${repo} holds no saved bootstrap image (looked for ${candidates.join(', ')})`,
      ExitCode.bootstrap,
    );
  return { image: found, assertDigest: boot.image_digest! };
}

/** The trusted keys into the buildroot's rpmdb (as gpg-pubkey), through a file of isomock's own there. */
async function importKeys(br: Buildroot, keyring: Keyring): Promise<void> {
  const fs = br.fs;
  for (const [i, key] of keyring.keys.entries()) {
    const rel = `tmp/.isomock-gpgkey-${i}.asc`;
    fs.writeFile(rel, key.armor());
    try {
      await br.rpm(['--import', br.inRoot(rel)]);
    } finally {
      fs.remove(rel);
    }
  }
}

/**
 * The isolated build, always behind the library's own network cut: the work
 * below runs in a child process in a new network namespace that proves the
 * cut first (buildroot/netcut.ts; the child is isolated-build-child.ts).
 */
export function runIsolatedBuild(req: IsolatedBuildRequest, signal?: AbortSignal): Promise<BuildReport> {
  return runInNetworkCut<BuildReport>(new URL('./isolated-build-child.js', import.meta.url), req, signal);
}

/** The isolated build itself; only ever called inside the cut, with its proof. */
export async function isolatedBuildInCut(
  req: IsolatedBuildRequest,
  proof: string,
  signal: AbortSignal,
  console?: NodeJS.WritableStream,
): Promise<BuildReport> {
  const repo = resolve(req.repo.replace(/^file:\/\//, ''));
  const lock = readLockfile(req.lockfile);
  // The locked digest is what makes REPO's saved image trustworthy: without one (Mock writes `{}` when podman fails) it would be taken as is.
  if (lock.bootstrap && lock.bootstrap.image_digest === undefined) {
    throw new IsomockError(
      `${req.lockfile} records no bootstrap image_digest: the saved bootstrap image cannot be checked`,
      ExitCode.bootstrap,
    );
  }
  checkArch(lock, req.lockfile);
  const recordPath = recordPathFor(req.lockfile);
  const record = { record: readRecord(recordPath, false), path: recordPath };
  const srpmNotes = await checkSrpms(req.srpms, record, req.acceptOtherSrpm ?? false);
  const warnings: string[] = [];
  const keyring = await trustedKeyring(req, '--isolated-build', (line) => warnings.push(line));
  if (req.fromSpec)
    srpmNotes.push(`the SRPM is made here from ${req.fromSpec.spec}: it is not compared with the calculated one`);
  const paths = await checkRepo(lock, repo, record, keyring);

  const overrides = newDict([['offline_local_repository', repo]]);
  for (const key of recordedConfigKeys) if (key in lock.config) overrides[key] = fromJson(lock.config[key]);
  const readFile = req.readAs && textReaderAs(req.readAs, ExitCode.config);
  const raw = runnable(loadConfig({ root: isolatedBuildConfig, ...req.configOptions, overrides, readFile }).raw);
  raw['use_bootstrap'] = lock.bootstrap !== undefined;
  raw['online'] = false;
  const config = buildConfigFrom(raw);
  const want = lock.buildroot.rpms.map(nevra).sort();

  const install = async (br: Buildroot): Promise<void> => {
    // One transaction with exactly the locked files; rpm orders it and checks that it is closed
    // and, with trusted keys in the buildroot's rpmdb, every signature too.
    if (keyring) await importKeys(br, keyring);
    await br.rpm(['-i', '--define', `_pkgverify_level ${keyring ? 'all' : 'digest'}`, ...paths]);
    const got = await br.installed();
    const extra = got.filter((p) => !want.includes(p));
    const absent = want.filter((p) => !got.includes(p));
    if (extra.length || absent.length) {
      throw new IsomockError(
        `the buildroot does not match ${req.lockfile}: ${[...absent.map((p) => `missing ${p}`), ...extra.map((p) => `extra ${p}`)].join(', ')}`,
        ExitCode.chroot,
      );
    }
    br.logs.info(`installed exactly the ${want.length} locked packages from ${repo}`);
    if (keyring)
      br.logs.info(
        `signatures checked by rpm against the trusted key(s) ${keyring.fingerprints.join(', ')}, imported into the buildroot's rpmdb`,
      );
  };

  return runBuild({
    config,
    srpms: req.srpms,
    ...(req.fromSpec && { fromSpec: req.fromSpec }),
    calculateOnly: false,
    noClean: false,
    nocheck: req.nocheck,
    verbosity: req.verbosity,
    ...(console && { console }),
    install,
    binds: [{ source: repo, inside: repoMountPoint }],
    bootstrap: lock.bootstrap
      ? (logs) =>
          prepareBootstrap({
            ...savedImage(lock, repo),
            targetArch: config.targetArch,
            cacheTopdir: config.cacheTopdir,
            logs,
          })
      : undefined,
    preamble: [proof, ...srpmNotes],
    warnings,
    signal,
  });
}
