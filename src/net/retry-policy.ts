/**
 * When another attempt can help, and how long to wait before it. Pure (the
 * random source and the clock are parameters).
 *
 * Worth retrying: the server or the path to it failing for now (5xx but 501
 * and 505, 408, 429, a reset or cut connection, a timeout, a name lookup
 * that failed for now). Never: TLS verification, a client certificate
 * refused, proxy authentication, other 4xx, too many redirects, a full disk,
 * an abort: the next attempt would fail the same way.
 *
 * The delay doubles from `baseMs` up to `maxMs`, with "equal jitter" (half
 * fixed, half random) so that parallel downloads that failed together do not
 * retry together; a server's Retry-After is honoured up to `maxRetryAfterMs`.
 */
import type { FailureKind } from './net-error.js';

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  attempts: number;
  baseMs: number;
  maxMs: number;
  /** A longer Retry-After than this is not waited for: the attempt fails. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 4, baseMs: 250, maxMs: 10_000, maxRetryAfterMs: 60_000 };

const retryableKinds: ReadonlySet<FailureKind> = new Set(['reset', 'timeout', 'dns-temporary']);

export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

export function isRetryable(kind: FailureKind, status?: number): boolean {
  if (kind === 'http-status' || kind === 'proxy-status') return status !== undefined && retryableStatus(status);
  return retryableKinds.has(kind);
}

/** Retry-After (delta seconds or an HTTP date) in ms from `nowMs`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * The wait before attempt `attempt + 1` (attempt counts from 1), or undefined
 * when the server asks for a longer wait than the policy allows.
 */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number | undefined {
  if (retryAfterMs !== undefined && retryAfterMs > policy.maxRetryAfterMs) return undefined;
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  const backoff = ceiling / 2 + random() * (ceiling / 2);
  return Math.max(backoff, retryAfterMs ?? 0);
}
