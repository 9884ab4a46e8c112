/**
 * Reads repository files from a local directory or over http(s), as streams.
 * Remote files go through the shared transport (net/transport.ts): the
 * repository's own one when the caller gives it (its dnf.conf section's
 * proxy and TLS), else a direct one for this read. Failures before the
 * first byte are retried there; a failure once the body flows is reported,
 * not retried, since the callers hash the bytes as they pass.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitCode, IsomockError } from '../errors.js';
import { netErrorFrom } from '../net/net-error.js';
import { Transport } from '../net/transport.js';

export interface FetchOptions {
  /** The repository's transport; absent: a direct one, closed after each read. */
  transport?: Transport;
  /** Longest wait for a response or for the next chunk of its body (a transport of its own only). */
  timeoutMs?: number;
  /** Further attempts after a failed one (connection error, timeout, 408/429/5xx). */
  retries?: number;
}

const isRemote = (location: string): boolean => /^https?:\/\//i.test(location);

/** `rel` inside the repository at `base` (a directory, a file:// URL or an http(s) URL). */
export function resolveLocation(base: string, rel: string): string {
  if (isRemote(rel) || rel.startsWith('file:')) return rel;
  if (isRemote(base)) return new URL(rel, base.endsWith('/') ? base : `${base}/`).href;
  return join(base.startsWith('file:') ? fileURLToPath(base) : base, rel);
}

function fetchFailed(location: string, reason: string): IsomockError {
  return new IsomockError(`cannot read ${location}: ${reason}`, ExitCode.packageManager);
}

/** The bytes of `location`, streamed. */
export async function* readLocation(location: string, options: FetchOptions = {}): AsyncGenerator<Uint8Array> {
  if (!isRemote(location)) {
    const path = location.startsWith('file:') ? fileURLToPath(location) : location;
    try {
      yield* createReadStream(path, { highWaterMark: 1 << 20 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw fetchFailed(location, code === 'ENOENT' ? 'no such file' : (error as Error).message);
    }
    return;
  }
  yield* readHttp(location, options);
}

async function* readHttp(url: string, { transport, timeoutMs = 30_000, retries = 2 }: FetchOptions) {
  const own = transport ? undefined : new Transport({ headersTimeoutMs: timeoutMs, bodyTimeoutMs: timeoutMs });
  try {
    let body;
    try {
      ({ body } = await (transport ?? own!).request(url, { retry: { attempts: retries + 1, baseMs: 200 } }));
    } catch (error) {
      // Named as it may be shown: no user info or query string.
      const net = netErrorFrom(error, url);
      throw fetchFailed(net.url, net.reason);
    }
    try {
      yield* body;
    } catch (error) {
      const net = netErrorFrom(error, url);
      throw fetchFailed(net.url, `download interrupted (${net.reason})`);
    }
  } finally {
    await own?.close();
  }
}

/** The whole of a small file (repomd.xml, a metalink, a mirrorlist). */
export async function readWhole(location: string, options?: FetchOptions): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of readLocation(location, options)) chunks.push(chunk);
  return Buffer.concat(chunks);
}
