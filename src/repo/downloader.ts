/**
 * Parallel downloads into a directory, for the offline repository: retries
 * with backoff where another attempt can help (5xx, 408, 429, a cut or too
 * slow connection; never a full disk or a refused address), resumption of
 * partial files with Range requests, and verification of each file before it
 * takes its final name. The limits (minimum rate, deadline, size cap) are
 * net/download-policy's; addresses are net/address-policy's.
 *
 * A partial file is `.NAME.isomock-part`: it never ends in `.rpm`
 * (createrepo_c indexes every *.rpm it finds) and says who made it. The
 * directory may be writable by others, so a partial file is created
 * O_EXCL|O_NOFOLLOW and taken up again only when it is a regular file of
 * ours with one link (util/no-follow); it is verified through its own
 * descriptor and renamed only while it is still that file.
 */
import { closeSync, constants, createWriteStream, fstatSync, ftruncateSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExitCode, IsomockError } from '../errors.js';
import { discard } from '../net/body.js';
import { clientCertOrigins } from '../net/config-map.js';
import { RateWatch, bodyCap, type DownloadLimits } from '../net/download-policy.js';
import { NetError, netErrorFrom } from '../net/net-error.js';
import { Transport, type TransportOptions } from '../net/transport.js';
import { originOf, shownUrl } from '../net/url.js';
import { mapLimit } from '../util/map-limit.js';
import { createExclusive, lstatOrUndefined, notOurs, removeOwn, reopenOwn } from '../util/no-follow.js';

export interface DownloadItem {
  url: string;
  /** File name in the target directory (already checked safe by the caller). */
  name: string;
  /** The size a record states: the body is capped at it (else at opts.sizeCeiling). */
  size?: number | null;
  /** Throws (an IsomockError naming `shownAs`) when the file at path is not the expected one. */
  /** Checks a file: at its final path, or a partial download by its open descriptor. */
  verify: (file: string | number, shownAs: string) => Promise<void>;
  /** True when a file already at the final name that fails verify() is isomock's own and may be replaced. */
  replaceable?: (path: string) => boolean;
  /** Called once the verified file is at its final name (downloaded or found there). */
  placed?: (path: string) => void;
}

export interface ClientCert {
  cert: string;
  key?: string;
}

export interface DownloadOptions {
  dir: string;
  jobs: number;
  /** Further attempts after the first one fails transiently. */
  retries: number;
  /** Base delay of the exponential backoff, in ms. */
  backoffMs: number;
  limits: DownloadLimits;
  /** Cap on a body whose size no record states. */
  sizeCeiling: number;
  allowLinkLocal: boolean;
  /** TLS client certificates by host or host:port. */
  clientCerts: Map<string, ClientCert>;
  /** Proxy, CA files and the environment (proxy variables, SSL_CERT_FILE); default: none of them. */
  network?: Pick<TransportOptions, 'env' | 'proxy' | 'tls' | 'originTls'>;
  onProgress?: (p: DownloadProgress) => void;
}

export interface DownloadProgress {
  filesDone: number;
  filesTotal: number;
  /** Bytes received over the network in this run. */
  bytesDone: number;
  /** Sizes of the files known so far (finished, reused, or announced by the server). */
  bytesKnown: number;
  /** Files that were already complete and verified: nothing downloaded for them. */
  reused: number;
  /** Attempts that failed transiently and were retried. */
  retried: number;
  elapsedSeconds: number;
}

/** A failure worth another attempt (the server or the connection, not the content, not this host). */
class TransientError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    readonly net?: NetError,
  ) {
    super(message);
  }
}

/**
 * A download that failed for good; `net` is the transport's failure when it
 * was one, `origin` that of the item's URL (for the caller's hint).
 */
export class DownloadError extends IsomockError {
  constructor(
    message: string,
    readonly net?: NetError,
    readonly origin?: string,
  ) {
    super(message, ExitCode.error);
  }
}

export const partSuffix = '.isomock-part';

function partName(name: string): string {
  return `.${name}${partSuffix}`;
}

const maxBackoffMs = 30_000;

/** Everything one run shares: the transport's connection pools, counters, the options. */
class Session {
  /** Retries are the downloader's (they resume partial files), so the transport makes one attempt. */
  readonly transport: Transport;
  private readonly started = performance.now();
  private lastReport = 0;
  readonly progress: DownloadProgress;

  constructor(
    readonly opts: DownloadOptions,
    filesTotal: number,
  ) {
    const { limits, network } = opts;
    this.transport = new Transport({
      ...network,
      originTls: new Map([...(network?.originTls ?? []), ...clientCertOrigins(opts.clientCerts)]),
      refuseLinkLocal: !opts.allowLinkLocal,
      retry: { attempts: 1 },
      connections: opts.jobs,
      // undici takes whole milliseconds; --timeout may be a fraction of a second.
      connectTimeoutMs: Math.ceil(limits.timeoutMs),
      // The rate watch ends slow attempts first; these only bound what it cannot see.
      headersTimeoutMs: Math.ceil(limits.deadlineMs),
      bodyTimeoutMs: Math.ceil(limits.deadlineMs),
    });
    this.progress = { filesDone: 0, filesTotal, bytesDone: 0, bytesKnown: 0, reused: 0, retried: 0, elapsedSeconds: 0 };
  }

  report(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.lastReport < 200) return;
    this.lastReport = now;
    this.progress.elapsedSeconds = (now - this.started) / 1000;
    this.opts.onProgress?.({ ...this.progress });
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

/** Size of the partial file, 0 when there is none; refuses one isomock did not make. */
function partSize(part: string): number {
  const st = lstatOrUndefined(part);
  if (!st) return 0;
  const why = notOurs(st);
  if (why) throw new IsomockError(`${part} is ${why}, not a partial download of isomock's; move it away`);
  return st.size;
}

/** The partial file opened for writing from offset `start` (created when absent), anything beyond cut off. */
function openPart(part: string, start: number): number {
  const fd = lstatOrUndefined(part) ? reopenOwn(part, constants.O_WRONLY).fd : createExclusive(part);
  ftruncateSync(fd, start);
  return fd;
}

/**
 * One file's progress across attempts: a retry that fetches the same first
 * bytes again is no progress, so only bytes beyond the furthest offset count.
 */
interface Progress {
  /** When the file last gained bytes at minRate or better (ms, performance.now()). */
  lastAt: number;
  furthest: number;
}

/**
 * One attempt: resumes from the partial file when the server honours Range.
 * The rate watch and the deadline end it by destroying the request.
 */
async function attempt(s: Session, item: DownloadItem, part: string, file: Progress): Promise<void> {
  const { limits } = s.opts;
  const url = new URL(item.url);
  const shown = shownUrl(url);
  const cap = bodyCap(item.size, s.opts.sizeCeiling);
  const capText = item.size != null ? `the ${cap} bytes its record states` : `the ${cap}-byte ceiling`;
  let have = partSize(part);
  if (have > cap) {
    removeOwn(part);
    have = 0;
  }
  let received = 0;
  /** Where this attempt's body begins in the file (have when resumed, else 0). */
  let start = have;
  const controller = new AbortController();
  /** Why the watch ended the attempt: the failure to report, whatever undici makes of the abort. */
  let stopped: Error | undefined;
  const fail = (err: Error): void => {
    stopped ??= err;
    controller.abort(err);
  };
  const watch = new RateWatch(limits, performance.now());
  const tick = setInterval(
    () => {
      const now = performance.now();
      const verdict = watch.sample(now, received);
      const offset = start + received;
      if (verdict === 'progress' && offset > file.furthest) {
        file.lastAt = now;
        file.furthest = offset;
      }
      if (now - file.lastAt >= limits.deadlineMs) {
        fail(
          new DownloadError(
            `download failed: ${shown}: no progress for ${limits.deadlineMs / 1000} s, retries included`,
          ),
        );
      } else if (verdict === 'too-slow') {
        fail(
          new TransientError(
            `${shown}: below ${limits.minRate} bytes/s for ${limits.timeoutMs / 1000} s (${received} bytes received)`,
          ),
        );
      }
    },
    Math.min(1000, limits.timeoutMs / 4),
  );
  let fd: number | undefined;
  let writing = false;
  let body: Readable | undefined;
  try {
    const res = await s.transport.request(url, {
      headers: have > 0 ? { range: `bytes=${have}-` } : {},
      // A 416 to a resumed request: the partial file is already whole (or too long), verification decides.
      accept: (status) => status === 200 || status === 206 || (status === 416 && have > 0),
      signal: controller.signal,
    });
    body = res.body;
    if (res.status === 416) return discard(body);
    const append = res.status === 206;
    const contentRange = String(res.headers['content-range'] ?? '');
    const range = /^bytes (\d+)-\d+\/(\d+)$/.exec(contentRange);
    if (append && (!range || Number(range[1]) !== have)) {
      // Not the range asked for: start over rather than splice wrong bytes.
      removeOwn(part);
      throw new TransientError(`${shown}: the server answered a different range (${contentRange || 'none'})`);
    }
    start = append ? have : 0;
    const expected = Number(res.headers['content-length'] ?? NaN);
    if (start + (Number.isFinite(expected) ? expected : 0) > cap) {
      throw new DownloadError(`download failed: ${shown}: the server announces more than ${capText}`);
    }
    if (Number.isFinite(expected)) s.progress.bytesKnown += start + expected;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        s.progress.bytesDone += chunk.length;
        s.report(false);
        if (start + received > cap) done(new DownloadError(`download failed: ${shown}: longer than ${capText}`));
        else done(null, chunk);
      },
    });
    fd = openPart(part, start);
    // The stream owns the descriptor from here (it closes it, on error too).
    const out = createWriteStream('', { fd, start });
    fd = undefined;
    out.on('error', () => (writing = true));
    await pipeline(res.body, counter, out);
    if (Number.isFinite(expected) && received !== expected) {
      throw new TransientError(`${shown}: connection cut after ${received} of ${expected} bytes`);
    }
  } catch (caught) {
    const err = stopped ?? caught;
    if (body) discard(body);
    if (writing) {
      removeOwn(part);
      throw new DownloadError(`cannot write ${part}: ${(err as Error).message}`);
    }
    if (err instanceof IsomockError) {
      removeOwn(part);
      throw err;
    }
    if (err instanceof TransientError) throw err;
    const net = netErrorFrom(err, url);
    const what = received > 0 ? `${shown}: connection cut after ${received} bytes (${net.reason})` : net.message;
    if (net.retryable) throw new TransientError(what, net.retryAfterMs, net);
    throw new DownloadError(`download failed: ${what}`, net, originOf(url));
  } finally {
    clearInterval(tick);
    if (fd !== undefined) closeSync(fd);
  }
}

/** Verifies the finished partial file through its own descriptor and renames it, if it is still that file. */
async function place(item: DownloadItem, part: string, dest: string, shownAs: string): Promise<void> {
  const { fd } = reopenOwn(part, constants.O_RDONLY);
  try {
    await item.verify(fd, shownAs);
    const st = fstatSync(fd);
    const now = lstatOrUndefined(part);
    if (!now || now.ino !== st.ino || now.dev !== st.dev) {
      throw new IsomockError(`${part} was replaced while it was verified`, ExitCode.error);
    }
    renameSync(part, dest);
  } finally {
    closeSync(fd);
  }
}

/** Downloads one item unless it is already in place; true when something was downloaded. */
async function fetchOne(s: Session, item: DownloadItem): Promise<boolean> {
  const dest = join(s.opts.dir, item.name);
  const there = lstatOrUndefined(dest);
  if (there) {
    try {
      if (!there.isFile()) throw new Error(there.isSymbolicLink() ? 'a symbolic link' : 'not a regular file');
      await item.verify(dest, item.name);
      item.placed?.(dest);
      s.progress.bytesKnown += there.size;
      return false;
    } catch (err) {
      // Only verified files are renamed into place, so a bad file here is
      // someone else's unless isomock's own records say otherwise.
      if (!there.isFile() || !item.replaceable?.(dest)) {
        throw new IsomockError(
          `${dest} is in the way: ${(err as Error).message}; move it away and run again`,
          ExitCode.error,
        );
      }
    }
  }
  const part = join(s.opts.dir, partName(item.name));
  const shownAs = `${item.name} downloaded from ${item.url}`;
  const file: Progress = { lastAt: performance.now(), furthest: 0 };
  const { deadlineMs } = s.opts.limits;
  let startedOver = false;
  for (let tryNo = 0; ; tryNo++) {
    const resumedFrom = partSize(part);
    try {
      await attempt(s, item, part, file);
    } catch (err) {
      if (!(err instanceof TransientError)) throw err;
      const backoff = Math.min(s.opts.backoffMs * 2 ** tryNo, maxBackoffMs) * (0.5 + Math.random() / 2);
      const wait = Math.max(backoff, err.retryAfterMs ?? 0);
      if (tryNo >= s.opts.retries || performance.now() + wait - file.lastAt >= deadlineMs) {
        throw new DownloadError(
          `download failed after ${tryNo + 1} attempts: ${err.message}`,
          err.net,
          originOf(new URL(item.url)),
        );
      }
      s.progress.retried++;
      await new Promise((r) => setTimeout(r, wait));
      continue;
    }
    try {
      await place(item, part, dest, shownAs);
    } catch (err) {
      removeOwn(part);
      // A resumed file can be wrong because its older part was: start over once.
      if (resumedFrom === 0 || startedOver) throw err;
      startedOver = true;
      continue;
    }
    item.placed?.(dest);
    return true;
  }
}

/**
 * Downloads every item, at most opts.jobs at a time. The first hard failure
 * stops new work; downloads already running finish (or fail) first.
 */
export async function downloadAll(items: DownloadItem[], opts: DownloadOptions): Promise<DownloadProgress> {
  const s = new Session(opts, items.length);
  try {
    await mapLimit(items, opts.jobs, async (item) => {
      if (!(await fetchOne(s, item))) s.progress.reused++;
      s.progress.filesDone++;
      s.report(true);
    });
  } finally {
    await s.close();
  }
  s.report(true);
  return s.progress;
}
