/**
 * Parallel downloads into a directory, for the offline repository: retries
 * with backoff on transient failures (5xx, 408, 429, a cut or stalled
 * connection), resumption of partial files with Range requests, and
 * verification of each file before it takes its final name. A partial file
 * is `.NAME.isomock-part`: it never ends in `.rpm` (createrepo_c indexes
 * every *.rpm it finds) and says who made it.
 */
import { createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExitCode, IsomockError } from '../errors.js';
import { retryStatuses } from './fetch.js';

export interface DownloadItem {
  url: string;
  /** File name in the target directory (already checked safe by the caller). */
  name: string;
  /** Throws (an IsomockError naming `shownAs`) when the file at path is not the expected one. */
  verify: (path: string, shownAs: string) => Promise<void>;
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
  /** A connection idle this long is dropped and the download resumed (ms). */
  idleTimeoutMs: number;
  /** TLS client certificates by host or host:port. */
  clientCerts: Map<string, ClientCert>;
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

/** A failure worth another attempt (the server or the connection, not the content). */
class TransientError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export const partSuffix = '.isomock-part';

export function partName(name: string): string {
  return `.${name}${partSuffix}`;
}

const maxBackoffMs = 30_000;

/** Everything one run shares: connection pools, counters, the options. */
class Session {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;
  private readonly started = performance.now();
  private lastReport = 0;
  readonly progress: DownloadProgress;

  constructor(
    readonly opts: DownloadOptions,
    filesTotal: number,
  ) {
    this.http = new HttpAgent({ keepAlive: true, maxSockets: opts.jobs });
    this.https = new HttpsAgent({ keepAlive: true, maxSockets: opts.jobs });
    this.progress = { filesDone: 0, filesTotal, bytesDone: 0, bytesKnown: 0, reused: 0, retried: 0, elapsedSeconds: 0 };
  }

  report(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.lastReport < 200) return;
    this.lastReport = now;
    this.progress.elapsedSeconds = (now - this.started) / 1000;
    this.opts.onProgress?.({ ...this.progress });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }

  get(url: URL, headers: Record<string, string>): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const tls = url.protocol === 'https:';
      const options = {
        headers,
        agent: tls ? this.https : this.http,
        timeout: this.opts.idleTimeoutMs,
        ...this.certFor(url),
      };
      const req = tls ? httpsRequest(url, options, resolve) : httpRequest(url, options, resolve);
      req.on('timeout', () =>
        req.destroy(new TransientError(`${url.href}: no data for ${this.opts.idleTimeoutMs / 1000} s`)),
      );
      req.on('error', (err) =>
        reject(err instanceof TransientError ? err : new TransientError(`${url.href}: ${err.message}`)),
      );
      req.end();
    });
  }

  private certFor(url: URL): { cert?: Buffer; key?: Buffer } {
    const c = this.opts.clientCerts.get(url.host) ?? this.opts.clientCerts.get(url.hostname);
    if (!c) return {};
    return { cert: readFileSync(c.cert), key: readFileSync(c.key ?? c.cert) };
  }
}

function retryAfter(res: IncomingMessage): number | undefined {
  const seconds = Number(res.headers['retry-after']);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, maxBackoffMs) : undefined;
}

function sizeOf(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

/** One attempt: resumes from the partial file when the server honours Range. */
async function attempt(s: Session, item: DownloadItem, part: string): Promise<void> {
  const url = new URL(item.url);
  const have = sizeOf(part);
  const res = await s.get(url, have > 0 ? { Range: `bytes=${have}-` } : {});
  const status = res.statusCode ?? 0;
  if (status === 416 && have > 0) {
    // The partial file is already whole (or too long): verification decides.
    res.resume();
    return;
  }
  if (status !== 200 && status !== 206) {
    res.resume();
    const msg = `${item.url}: HTTP ${status}`;
    if (retryStatuses.has(status)) throw new TransientError(msg, retryAfter(res));
    throw new IsomockError(`download failed: ${msg}`, ExitCode.error);
  }
  const append = status === 206;
  const range = /^bytes (\d+)-\d+\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''));
  if (append && (!range || Number(range[1]) !== have)) {
    // Not the range asked for: start over rather than splice wrong bytes.
    res.resume();
    rmSync(part, { force: true });
    throw new TransientError(
      `${item.url}: the server answered a different range (${res.headers['content-range'] ?? 'none'})`,
    );
  }
  const expected = Number(res.headers['content-length'] ?? NaN);
  if (Number.isFinite(expected)) s.progress.bytesKnown += (append ? have : 0) + expected;
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      s.progress.bytesDone += chunk.length;
      s.report(false);
      done(null, chunk);
    },
  });
  const out = createWriteStream(part, { flags: append ? 'a' : 'w' });
  try {
    await pipeline(res, counter, out);
  } catch (err) {
    // The whole body arrived, so the failure was writing it.
    if (res.complete) throw new IsomockError(`cannot write ${part}: ${(err as Error).message}`, ExitCode.error);
    throw new TransientError(`${item.url}: connection cut after ${received} bytes (${(err as Error).message})`);
  }
  if (Number.isFinite(expected) && received !== expected) {
    throw new TransientError(`${item.url}: connection cut after ${received} of ${expected} bytes`);
  }
}

/** Downloads one item unless it is already in place; true when something was downloaded. */
async function fetchOne(s: Session, item: DownloadItem): Promise<boolean> {
  const dest = join(s.opts.dir, item.name);
  if (existsSync(dest)) {
    try {
      await item.verify(dest, item.name);
      item.placed?.(dest);
      s.progress.bytesKnown += statSync(dest).size;
      return false;
    } catch (err) {
      // Only verified files are renamed into place, so a bad file here is
      // someone else's unless isomock's own records say otherwise.
      if (!item.replaceable?.(dest)) {
        throw new IsomockError(
          `${dest} is in the way: ${(err as Error).message}; move it away and run again`,
          ExitCode.error,
        );
      }
    }
  }
  const part = join(s.opts.dir, partName(item.name));
  const shownAs = `${item.name} downloaded from ${item.url}`;
  let startedOver = false;
  for (let tryNo = 0; ; tryNo++) {
    const resumedFrom = sizeOf(part);
    try {
      await attempt(s, item, part);
    } catch (err) {
      if (!(err instanceof TransientError)) throw err;
      if (tryNo >= s.opts.retries) {
        throw new IsomockError(`download failed after ${tryNo + 1} attempts: ${err.message}`, ExitCode.error);
      }
      s.progress.retried++;
      const backoff = Math.min(s.opts.backoffMs * 2 ** tryNo, maxBackoffMs) * (0.5 + Math.random() / 2);
      await new Promise((r) => setTimeout(r, Math.max(backoff, err.retryAfterMs ?? 0)));
      continue;
    }
    try {
      await item.verify(part, shownAs);
    } catch (err) {
      rmSync(part, { force: true });
      // A resumed file can be wrong because its older part was: start over once.
      if (resumedFrom === 0 || startedOver) throw err;
      startedOver = true;
      continue;
    }
    renameSync(part, dest);
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
  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        if (!(await fetchOne(s, item))) s.progress.reused++;
        s.progress.filesDone++;
        s.report(true);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs, items.length)) }, worker));
  } finally {
    s.close();
  }
  if (failure !== undefined) throw failure;
  s.report(true);
  return s.progress;
}
