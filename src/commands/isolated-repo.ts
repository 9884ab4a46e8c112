/**
 * `isomock isolated-repo` (Mock's mock-hermetic-repo): turns a lockfile into
 * an offline repository. Every locked RPM is downloaded, verified against
 * the lockfile and renamed into place; createrepo_c indexes the directory;
 * the bootstrap image is saved by digest. Unlike Mock, the lockfile is
 * validated first, every RPM is verified, a second run over a complete
 * repository downloads and re-reads nothing, and an interrupted run leaves
 * either the previous repository or a resumable partial one. With isomock's
 * record beside the lockfile (lockfile/record.ts), each file's size and
 * SHA-256 must match it too. Downloads are bounded (net/download-policy: size
 * cap, minimum rate, deadline) and never reach a link-local address unless
 * the command line allows it (net/address-policy).
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import { lockRoot } from '../buildroot/lock.js';
import { readLockfile, rpmFileName, type LockedRpm, type Lockfile } from '../lockfile/lockfile.js';
import { verifyLockedRpm } from '../lockfile/verify-rpm.js';
import { readRecord, recordEntry, recordPathFor, type IsomockRecord } from '../lockfile/record.js';
import {
  DownloadError,
  downloadAll,
  partSuffix,
  type ClientCert,
  type DownloadItem,
  type DownloadProgress,
} from '../repo/downloader.js';
import {
  readState,
  recordFile,
  repodataFingerprint,
  unchanged,
  writeState,
  type RepoState,
} from '../repo/repo-state.js';
import { checkUrlHost } from '../net/address-policy.js';
import type { Env, ProxySettings } from '../net/proxy-choice.js';
import { downloadHint } from '../net/setting-hint.js';
import { defaultSizeCeiling, downloadLimits } from '../net/download-policy.js';
import { removeOwn } from '../util/no-follow.js';
import { lstatOrUndefined } from '../util/no-follow.js';
import { defaultJobs, mapLimit } from '../util/map-limit.js';
import { trustedKeyring, type SignaturePolicy } from '../signing/policy.js';
import { makeRepodata, removeRepodataLeftovers, retireRepodata } from './repodata.js';
import type { SavedImage } from './isolated-repo-image.js';
import { removeImageLeftovers } from './isolated-repo-leftovers.js';
import { keepDownloaded, keepInStore, openRepoStore, placeFromStore } from './isolated-repo-store.js';
import { defaultStoreBound } from '../store/content-store.js';

const lockName = '.isomock-lock';

export interface IsolatedRepoOptions extends SignaturePolicy {
  lockfile: string;
  outputRepo: string;
  /** isomock's record of the locked files; by default the one beside the lockfile, when it exists. */
  isomockRecord?: string;
  /** Parallel downloads (default 8). */
  jobs?: number;
  /** TLS client certificates by host or host:port, as Mock's --client-cert-for. */
  clientCerts?: Map<string, ClientCert>;
  /** The proxy for every download (--proxy); absent: the environment's (http_proxy, https_proxy, no_proxy). */
  proxy?: ProxySettings;
  /** PEM files of CAs trusted on top of the default trust (--ca-cert). */
  caCerts?: string[];
  /** The proxy variables and SSL_CERT_FILE; never read from process.env here (the CLI passes it). */
  env?: Env;
  /** Also write bootstrap.tar (OCI archive), as Mock 5.7 - 6.6 did. */
  bootstrapTar?: boolean;
  onProgress?: (p: DownloadProgress) => void;
  /** One-line notices (waiting for a lock, saving the image). */
  onNotice?: (line: string) => void;
  /** The warning that signatures are not checked (no key given): meant to be shown even when quiet. */
  onWarning?: (line: string) => void;
  /** Download tuning; the defaults suit real servers (5 retries, 300 ms backoff base). */
  retries?: number;
  backoffMs?: number;
  /** dnf's timeout and minrate (30 s, 1000 bytes/s): see net/download-policy. */
  timeoutSeconds?: number;
  minRate?: number;
  /** Cap on an RPM whose size no record states (default 4 GiB). */
  sizeCeiling?: number;
  /** Let lockfile URLs reach link-local addresses (169.254.0.0/16, fe80::/10). */
  allowLinkLocal?: boolean;
  /** The content-addressed store (default: store/content-store's storeLocation()); false for none. */
  store?: string | false;
  /** Bytes the store may keep after this run (least recently used entries go first; default 32 GiB). */
  storeBound?: number;
}

export interface IsolatedRepoResult {
  dir: string;
  rpms: number;
  downloaded: number;
  /** Files already in place and verified (or known verified from the state file). */
  reused: number;
  /** Files placed from the content-addressed store (no network), by how. */
  fromStore: { reflink: number; hardlink: number; copy: number };
  bytesDownloaded: number;
  downloadSeconds: number;
  /** False when the existing repodata already described exactly these files. */
  repodataWritten: boolean;
  /** Fingerprints of the trusted keys every RPM's signature was checked against; empty when unchecked. */
  signatureKeys: string[];
  image?: SavedImage;
}

/** File name of each locked RPM; two packages wanting one name is a broken lockfile. */
function fileNames(lock: Lockfile, source: string): Map<string, LockedRpm> {
  const byName = new Map<string, LockedRpm>();
  lock.buildroot.rpms.forEach((rpm, i) => {
    const name = rpmFileName(rpm, `${source}: buildroot.rpms[${i}] (${rpm.name})`);
    const other = byName.get(name);
    if (other) {
      throw new IsomockError(
        `invalid lockfile ${source}: buildroot.rpms[${i}] (${rpm.url}) and ${other.url} both save as ${name}`,
        ExitCode.badCmdline,
      );
    }
    byName.set(name, rpm);
  });
  return byName;
}

/** Partial downloads of files this lockfile does not want (an older lockfile's). */
function removeForeignParts(dir: string, wanted: Map<string, LockedRpm>): void {
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('.') && entry.endsWith(partSuffix) && !wanted.has(entry.slice(1, -partSuffix.length))) {
      removeOwn(join(dir, entry));
    }
  }
}

export async function isolatedRepo(o: IsolatedRepoOptions): Promise<IsolatedRepoResult> {
  const lock = readLockfile(o.lockfile);
  const wanted = fileNames(lock, o.lockfile);
  // Before any connection: a lockfile that names a link-local host is refused whole.
  for (const rpm of wanted.values()) checkUrlHost(rpm.url, o.allowLinkLocal ?? false);
  // The image step brings the registry client, undici and tar: loaded only for a lockfile with an image.
  const imageStep = lock.bootstrap ? await import('./isolated-repo-image.js') : undefined;
  await imageStep?.checkBootstrapRegistries(lock, o.allowLinkLocal ?? false);
  const recordPath = o.isomockRecord ?? recordPathFor(o.lockfile);
  const isomockRecord: IsomockRecord | undefined = readRecord(recordPath, o.isomockRecord !== undefined);
  const recorded = new Map([...wanted].map(([name, rpm]) => [name, recordEntry(isomockRecord, rpm, recordPath)]));
  const keyring = await trustedKeyring(o, 'isolated-repo', (line) => o.onWarning?.(line));
  const dir = resolve(o.outputRepo);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new IsomockError(`cannot create output repository ${dir}: ${(err as Error).message}`, ExitCode.error);
  }
  const held = await lockRoot(join(dir, lockName), `output repository ${dir}`, 3_600_000, (m) => o.onNotice?.(m));
  try {
    removeRepodataLeftovers(dir);
    removeImageLeftovers(dir);
    const state = readState(dir);
    const rs = o.store === false ? undefined : openRepoStore(dir, o.store, (m) => o.onNotice?.(m));
    // Verified before, and against the same record: a file checked by SIGMD5 alone is not trusted for a SHA-256.
    const trusted = (name: string, rpm: LockedRpm, path: string): boolean => {
      const record = state.files[name];
      const sha256 = recorded.get(name)?.sha256 ?? undefined;
      return (
        record?.sigmd5 === rpm.sigmd5 && (sha256 === undefined || record.sha256 === sha256) && unchanged(record, path)
      );
    };
    const known = [...wanted].every(([name, rpm]) => trusted(name, rpm, join(dir, name)));
    const repodataCurrent = state.repodata !== undefined && repodataFingerprint(dir) === state.repodata;
    // While files change, no repodata: an interrupted run must not leave a repository that looks complete.
    if (!(known && repodataCurrent)) {
      retireRepodata(dir);
      delete state.repodata;
      writeState(dir, state);
    }

    // The store first: what it holds verifies from its entry and needs no download.
    const fromStore = { reflink: 0, hardlink: 0, copy: 0 };
    if (rs) {
      await mapLimit([...wanted], o.jobs ?? defaultJobs, async ([name, rpm]) => {
        const path = join(dir, name);
        // Never over a file that is not isomock's own: the download step refuses it, naming it.
        if (trusted(name, rpm, path) || (lstatOrUndefined(path) && !unchanged(state.files[name], path))) return;
        const how = await placeFromStore(rs, rpm, recorded.get(name), name);
        if (!how) return;
        fromStore[how]++;
        state.files[name] = recordFile(path, rpm.sigmd5, recorded.get(name)?.sha256 ?? undefined);
      });
    }

    // The keys may differ from the last run's: every file, every run, before it counts as in the repository.
    const signed = keyring && (await import('../signing/rpm-signature.js'));
    const checkSignature = async (file: string | number, shownAs: string): Promise<void> => {
      if (keyring && signed) await signed.verifyRpmFileSignature(file, keyring, shownAs);
    };
    const items: DownloadItem[] = [...wanted].map(([name, rpm]) => ({
      url: rpm.url,
      name,
      size: recorded.get(name)?.size ?? null,
      verify: async (file, shownAs) => {
        const sha256 =
          file !== join(dir, name) || !trusted(name, rpm, file)
            ? await verifyLockedRpm(file, rpm, shownAs, recorded.get(name))
            : undefined;
        await checkSignature(file, shownAs);
        return sha256;
      },
      verifyBytes: (bytes, shownAs) => verifyLockedRpm(bytes, rpm, shownAs, recorded.get(name)),
      verifyRest: checkSignature,
      replaceable: (path) => unchanged(state.files[name], path),
      placed: (path, download) => {
        if (rs && download) keepDownloaded(rs, rpm, name, download.fd, download.sha256);
        state.files[name] = recordFile(path, rpm.sigmd5, recorded.get(name)?.sha256 ?? undefined);
      },
    }));
    let progress: DownloadProgress;
    try {
      progress = await downloadAll(items, {
        dir,
        jobs: o.jobs ?? defaultJobs,
        retries: o.retries ?? 5,
        backoffMs: o.backoffMs ?? 300,
        limits: downloadLimits(o.timeoutSeconds, o.minRate),
        sizeCeiling: o.sizeCeiling ?? defaultSizeCeiling,
        allowLinkLocal: o.allowLinkLocal ?? false,
        clientCerts: o.clientCerts ?? new Map(),
        network: {
          env: o.env ?? {},
          ...(o.proxy && { proxy: o.proxy }),
          ...(o.caCerts?.length && { tls: { extraCaFiles: o.caCerts } }),
        },
        ...(o.onProgress && { onProgress: o.onProgress }),
      });
    } catch (err) {
      // Keep what was verified; the download's failure is the one to report.
      saveVerified(state, dir, () => undefined);
      throw err instanceof DownloadError ? withHint(err, isomockRecord) : err;
    }
    if (rs) {
      await mapLimit([...wanted], o.jobs ?? defaultJobs, async ([name, rpm]) => {
        if (await keepInStore(rs, rpm, recorded.get(name), name))
          state.files[name] = recordFile(join(dir, name), rpm.sigmd5, recorded.get(name)?.sha256 ?? undefined);
      });
      rs.store.collect(o.storeBound ?? defaultStoreBound);
    }
    saveVerified(state, dir, (err) => {
      throw err;
    });
    removeForeignParts(dir, wanted);

    let repodataWritten = false;
    if (state.repodata === undefined || repodataFingerprint(dir) !== state.repodata) {
      await makeRepodata(dir);
      state.repodata = repodataFingerprint(dir);
      writeState(dir, state);
      repodataWritten = true;
    }
    const image = await imageStep?.saveBootstrapImage(lock, o.lockfile, dir, o.bootstrapTar ?? false);
    return {
      dir,
      rpms: wanted.size,
      downloaded: progress.filesDone - progress.reused,
      reused: progress.reused - Object.values(fromStore).reduce((a, b) => a + b, 0),
      fromStore,
      bytesDownloaded: progress.bytesDone,
      downloadSeconds: progress.elapsedSeconds,
      repodataWritten,
      signatureKeys: keyring?.fingerprints ?? [],
      ...(image && { image }),
    };
  } finally {
    held.release();
  }
}

/** The download failure, with the option to give when calculate reached that origin with a setting of its own. */
function withHint(err: DownloadError, record: IsomockRecord | undefined): Error {
  const hint = err.net && downloadHint(err.net, err.origin, record?.network);
  return hint ? new DownloadError(`${err.message}; ${hint}`, err.net, err.origin) : err;
}

/** Records the files verified so far, dropping those gone or changed since; onError decides about a failed write. */
function saveVerified(state: RepoState, dir: string, onError: (err: unknown) => void): void {
  for (const [name, record] of Object.entries(state.files)) {
    if (!unchanged(record, join(dir, name))) delete state.files[name];
  }
  try {
    writeState(dir, state);
  } catch (err) {
    onError(err);
  }
}
