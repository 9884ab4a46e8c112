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
 *
 * One read per file: a fresh download is checked as its bytes arrive
 * (item.verifyBytes), in the pass that writes them, and the file is not read
 * again; only a resumed one, whose first bytes an earlier run wrote, is
 * verified from the file. The transport (undici) is loaded only once a file
 * actually needs downloading: a run that finds everything in place never
 * pays for it.
 */
import { closeSync, constants, fstatSync, ftruncateSync, renameSync, writev } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { promisify } from 'node:util';
import { ExitCode, IsomockError } from '../errors.js';
import { discard } from '../net/body.js';
import { RateWatch, bodyCap, type DownloadLimits } from '../net/download-policy.js';
import { NetError, netErrorFrom } from '../net/net-error.js';
import type { Transport, TransportOptions } from '../net/transport.js';
import { originOf, shownUrl } from '../net/url.js';
import { mapLimit } from '../util/map-limit.js';
import { createExclusive, lstatOrUndefined, notOurs, removeOwn, reopenOwn } from '../util/no-follow.js';

export interface DownloadItem {
  url: string;
  /** File name in the target directory (already checked safe by the caller). */
  name: string;
  /** The size a record states: the body is capped at it (else at opts.sizeCeiling). */
  size?: number | null;
  /**
   * Checks a file: at its final path, or a partial download by its open
   * descriptor; throws an IsomockError naming `shownAs` when it is not the
   * expected one. Resolves with the file's SHA-256 when it read the file.
   */
  verify: (file: string | number, shownAs: string) => Promise<string | undefined>;
  /**
   * The same check on a fresh download's bytes, fed from the first one as they
   * are written (read it to its end); resolves with their SHA-256. Without it,
   * every download is checked by verify() from the file.
   */
  verifyBytes?: (bytes: Readable, shownAs: string) => Promise<string>;
  /** What verifyBytes cannot check, on the file's descriptor (a signature, from the headers). */
  verifyRest?: (fd: number, shownAs: string) => Promise<void>;
  /** True when a file already at the final name that fails verify() is isomock's own and may be replaced. */
  replaceable?: (path: string) => boolean;
  /**
   * Called once the verified file is at its final name (downloaded or found
   * there). For a download, `fd` is the descriptor of the file that was
   * checked, still open, and `sha256` what its checked bytes hash to.
   */
  placed?: (path: string, download?: { fd: number; sha256: string }) => void | Promise<void>;
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
  private made?: Promise<Transport>;
  private readonly started = performance.now();
  private lastReport = 0;
  readonly progress: DownloadProgress;

  constructor(
    readonly opts: DownloadOptions,
    filesTotal: number,
  ) {
    this.progress = { filesDone: 0, filesTotal, bytesDone: 0, bytesKnown: 0, reused: 0, retried: 0, elapsedSeconds: 0 };
  }

  /** The transport, made (and undici loaded, and the config mapping with its Python reader) at the first download. */
  transport(): Promise<Transport> {
    this.made ??= Promise.all([import('../net/transport.js'), import('../net/config-map.js')]).then(
      ([{ Transport }, { clientCertOrigins }]) => {
        const { limits, network } = this.opts;
        return new Transport({
          ...network,
          originTls: new Map([...(network?.originTls ?? []), ...clientCertOrigins(this.opts.clientCerts)]),
          refuseLinkLocal: !this.opts.allowLinkLocal,
          // Retries are the downloader's (they resume partial files), so the transport makes one attempt.
          retry: { attempts: 1 },
          connections: this.opts.jobs,
          // undici takes whole milliseconds; --timeout may be a fraction of a second.
          connectTimeoutMs: Math.ceil(limits.timeoutMs),
          // The rate watch ends slow attempts first; these only bound what it cannot see.
          headersTimeoutMs: Math.ceil(limits.deadlineMs),
          bodyTimeoutMs: Math.ceil(limits.deadlineMs),
        });
      },
    );
    return this.made;
  }

  report(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.lastReport < 200) return;
    this.lastReport = now;
    this.progress.elapsedSeconds = (now - this.started) / 1000;
    this.opts.onProgress?.({ ...this.progress });
  }

  async close(): Promise<void> {
    await (await this.made?.catch(() => undefined))?.close();
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

const writevAsync = promisify(writev);

/** A write to the partial file that failed (a full disk, an I/O error): never retried. */
class WriteFailure extends Error {}

/**
 * A download's chunks written at their offsets, gathered into few writev
 * calls (a few MiB, or a quarter second, whichever comes first: a killed run
 * leaves nearly all it received for the next one to resume).
 */
class PartWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushedAt = performance.now();

  constructor(
    private readonly fd: number,
    private position: number,
  ) {}

  async add(chunk: Buffer): Promise<void> {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= 4 << 20 || this.pending.length >= 256 || performance.now() - this.flushedAt > 250)
      await this.flush();
  }

  async flush(): Promise<void> {
    let buffers = this.pending;
    let left = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.flushedAt = performance.now();
    while (left > 0) {
      let written: number;
      try {
        ({ bytesWritten: written } = await writevAsync(this.fd, buffers, this.position));
      } catch (err) {
        throw new WriteFailure((err as Error).message);
      }
      this.position += written;
      left -= written;
      // A short write: the rest again, from where it stopped.
      for (let skip = written; skip > 0;) {
        const first = buffers[0]!;
        buffers = skip >= first.length ? buffers.slice(1) : [first.subarray(skip), ...buffers.slice(1)];
        skip -= Math.min(skip, first.length);
      }
    }
  }
}

/**
 * A fresh download's bytes handed to item.verifyBytes as they are written,
 * at its pace: a check slower than the network holds the download back
 * rather than buffering the file in memory.
 */
class ByteCheck {
  private readonly bytes = new PassThrough({ highWaterMark: 4 << 20 });
  private readonly result: Promise<string>;

  constructor(verify: NonNullable<DownloadItem['verifyBytes']>, shownAs: string) {
    // A check that stops early destroys the stream; what is still written then goes nowhere.
    this.bytes.on('error', () => undefined);
    this.result = verify(this.bytes, shownAs).catch((err: unknown) => {
      throw err instanceof IsomockError ? err : new IsomockError(`${shownAs}: ${(err as Error).message}`);
    });
    // Observed by feed() or end(); a download that fails first leaves it unobserved.
    this.result.catch(() => undefined);
  }

  async feed(chunk: Buffer): Promise<void> {
    if (!this.bytes.destroyed && !this.bytes.write(chunk)) await Promise.race([once(this.bytes, 'drain'), this.result]);
  }

  /** The SHA-256 of the bytes, once all were fed and the check passed. */
  end(): Promise<string> {
    this.bytes.end();
    return this.result;
  }

  abandon(): void {
    this.bytes.destroy();
  }
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
 * The rate watch and the deadline end it by destroying the request. Resolves
 * with the SHA-256 of the file when its bytes were checked as they arrived
 * (a download from the first byte), else undefined (place() checks the file).
 */
async function attempt(
  s: Session,
  item: DownloadItem,
  part: string,
  file: Progress,
  shownAs: string,
): Promise<string | undefined> {
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
  let body: Readable | undefined;
  let check: ByteCheck | undefined;
  let out: PartWriter | undefined;
  try {
    const transport = await s.transport();
    const res = await transport.request(url, {
      headers: have > 0 ? { range: `bytes=${have}-` } : {},
      // A 416 to a resumed request: the partial file is already whole (or too long), verification decides.
      accept: (status) => status === 200 || status === 206 || (status === 416 && have > 0),
      signal: controller.signal,
    });
    body = res.body;
    if (res.status === 416) {
      discard(body);
      return undefined;
    }
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
    fd = openPart(part, start);
    out = new PartWriter(fd, start);
    if (start === 0 && item.verifyBytes) check = new ByteCheck(item.verifyBytes, shownAs);
    for await (const chunk of body as AsyncIterable<Buffer>) {
      received += chunk.length;
      s.progress.bytesDone += chunk.length;
      s.report(false);
      if (start + received > cap) throw new DownloadError(`download failed: ${shown}: longer than ${capText}`);
      await out.add(chunk);
      await check?.feed(chunk);
    }
    await out.flush();
    if (stopped) throw stopped;
    if (Number.isFinite(expected) && received !== expected) {
      throw new TransientError(`${shown}: connection cut after ${received} of ${expected} bytes`);
    }
    return await check?.end();
  } catch (caught) {
    const err = stopped ?? caught;
    check?.abandon();
    if (body) discard(body);
    // What arrived before a cut is kept for the next attempt to resume from.
    if (out && !(err instanceof WriteFailure) && !(err instanceof IsomockError))
      await out.flush().catch(() => undefined);
    if (err instanceof WriteFailure) {
      removeOwn(part);
      throw new DownloadError(`cannot write ${part}: ${err.message}`);
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

/**
 * Puts the finished partial file at dest, if it is still that file: checked
 * through its own descriptor first unless its bytes were checked as they
 * arrived (`checked`, their SHA-256: then only verifyRest reads it, the
 * headers). Returns that descriptor, still open on the checked file (the
 * caller closes it), and the SHA-256 when known.
 */
async function place(
  item: DownloadItem,
  part: string,
  dest: string,
  shownAs: string,
  checked: string | undefined,
): Promise<{ fd: number; sha256: string | undefined }> {
  const { fd } = reopenOwn(part, constants.O_RDONLY);
  try {
    const sha256 = checked ?? (await item.verify(fd, shownAs));
    if (checked !== undefined) await item.verifyRest?.(fd, shownAs);
    const st = fstatSync(fd);
    const now = lstatOrUndefined(part);
    if (!now || now.ino !== st.ino || now.dev !== st.dev) {
      throw new IsomockError(`${part} was replaced while it was verified`, ExitCode.error);
    }
    renameSync(part, dest);
    return { fd, sha256 };
  } catch (err) {
    closeSync(fd);
    throw err;
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
      await item.placed?.(dest);
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
    let checked: string | undefined;
    try {
      checked = await attempt(s, item, part, file, shownAs);
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
    let placed: { fd: number; sha256: string | undefined };
    try {
      placed = await place(item, part, dest, shownAs, checked);
    } catch (err) {
      removeOwn(part);
      // A resumed file can be wrong because its older part was: start over once.
      if (resumedFrom === 0 || startedOver) throw err;
      startedOver = true;
      continue;
    }
    try {
      const { fd, sha256 } = placed;
      await item.placed?.(dest, sha256 === undefined ? undefined : { fd, sha256 });
    } finally {
      closeSync(placed.fd);
    }
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
