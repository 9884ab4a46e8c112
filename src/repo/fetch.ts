/**
 * Reads repository files from a local directory or over http(s), as streams.
 * Connection failures, timeouts and transient statuses are retried before the
 * first byte; a failure once the body flows is reported, not retried, since
 * the callers hash the bytes as they pass.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, IsomockError } from '../errors.js';
import { retryStatuses } from '../net/download-policy.js';

export interface FetchOptions {
  /** Longest wait for a response or for the next chunk of its body. */
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

async function* readHttp(url: string, { timeoutMs = 30_000, retries = 2 }: FetchOptions): AsyncGenerator<Uint8Array> {
  for (let attempt = 0; ; attempt++) {
    const controller = new AbortController();
    let timer = setTimeout(() => controller.abort(), timeoutMs);
    let failure: string;
    try {
      const response = await fetch(url, { signal: controller.signal, redirect: 'follow' });
      if (response.ok && response.body) {
        try {
          for await (const chunk of response.body) {
            clearTimeout(timer);
            timer = setTimeout(() => controller.abort(), timeoutMs);
            yield chunk;
          }
          return;
        } catch (error) {
          throw fetchFailed(url, `download interrupted (${reason(error, timeoutMs)})`);
        }
      }
      failure = `HTTP ${response.status} ${response.statusText}`.trim();
      await response.body?.cancel();
      if (!retryStatuses.has(response.status)) throw fetchFailed(url, failure);
    } catch (error) {
      if (error instanceof IsomockError) throw error;
      failure = reason(error, timeoutMs);
    } finally {
      clearTimeout(timer);
    }
    if (attempt >= retries) throw fetchFailed(url, failure);
    await sleep(200 * 2 ** attempt);
  }
}

function reason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/** The whole of a small file (repomd.xml, a metalink, a mirrorlist). */
export async function readWhole(location: string, options?: FetchOptions): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of readLocation(location, options)) chunks.push(chunk);
  return Buffer.concat(chunks);
}
