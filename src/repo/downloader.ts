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
import { closeSync, constants, createWriteStream, fstatSync, ftruncateSync, readFileSync, renameSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExitCode, IsomockError } from '../errors.js';
import { guardedLookup } from '../net/address-policy.js';
import { RateWatch, bodyCap, retryStatuses, retryableCode, type DownloadLimits } from '../net/download-policy.js';
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
  ) {
    super(message);
  }
}

export const partSuffix = '.isomock-part';

function partName(name: string): string {
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

  request(url: URL, headers: Record<string, string>): ClientRequest {
    const tls = url.protocol === 'https:';
    const options = {
      headers,
      agent: tls ? this.https : this.http,
      lookup: guardedLookup(url.href, this.opts.allowLinkLocal),
      ...this.certFor(url),
    };
    const req = tls ? httpsRequest(url, options) : httpRequest(url, options);
    req.end();
    return req;
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
  const cap = bodyCap(item.size, s.opts.sizeCeiling);
  const capText = item.size != null ? `the ${cap} bytes its record states` : `the ${cap}-byte ceiling`;
  let have = partSize(part);
  if (have > cap) {
    removeOwn(part);
    have = 0;
  }
  const req = s.request(url, have > 0 ? { Range: `bytes=${have}-` } : {});
  let received = 0;
  /** Where this attempt's body begins in the file (have when resumed, else 0). */
  let start = have;
  let res: IncomingMessage | undefined;
  const fail = (err: Error): void => {
    req.destroy(err);
    res?.destroy(err);
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
          new IsomockError(
            `download failed: ${item.url}: no progress for ${limits.deadlineMs / 1000} s, retries included`,
          ),
        );
      } else if (verdict === 'too-slow') {
        fail(
          new TransientError(
            `${item.url}: below ${limits.minRate} bytes/s for ${limits.timeoutMs / 1000} s (${received} bytes received)`,
          ),
        );
      }
    },
    Math.min(1000, limits.timeoutMs / 4),
  );
  let fd: number | undefined;
  let writing = false;
  try {
    res = await new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
    });
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
      removeOwn(part);
      throw new TransientError(
        `${item.url}: the server answered a different range (${res.headers['content-range'] ?? 'none'})`,
      );
    }
    start = append ? have : 0;
    const expected = Number(res.headers['content-length'] ?? NaN);
    if (start + (Number.isFinite(expected) ? expected : 0) > cap) {
      throw new IsomockError(`download failed: ${item.url}: the server announces more than ${capText}`);
    }
    if (Number.isFinite(expected)) s.progress.bytesKnown += start + expected;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        s.progress.bytesDone += chunk.length;
        s.report(false);
        if (start + received > cap) done(new IsomockError(`download failed: ${item.url}: longer than ${capText}`));
        else done(null, chunk);
      },
    });
    fd = openPart(part, start);
    // The stream owns the descriptor from here (it closes it, on error too).
    const out = createWriteStream('', { fd, start });
    fd = undefined;
    out.on('error', () => (writing = true));
    await pipeline(res, counter, out);
    if (Number.isFinite(expected) && received !== expected) {
      throw new TransientError(`${item.url}: connection cut after ${received} of ${expected} bytes`);
    }
  } catch (err) {
    if (writing) {
      removeOwn(part);
      throw new IsomockError(`cannot write ${part}: ${(err as Error).message}`, ExitCode.error);
    }
    if (err instanceof IsomockError) {
      removeOwn(part);
      throw err;
    }
    if (err instanceof TransientError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const what = `${item.url}: ${received > 0 ? `connection cut after ${received} bytes` : 'no answer'} (${code ?? (err as Error).message})`;
    if (retryableCode(code)) throw new TransientError(what);
    throw new IsomockError(`download failed: ${what}`, ExitCode.error);
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
        throw new IsomockError(`download failed after ${tryNo + 1} attempts: ${err.message}`, ExitCode.error);
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
    s.close();
  }
  s.report(true);
  return s.progress;
}
