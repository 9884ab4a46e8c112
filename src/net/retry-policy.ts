/**
 * How long to wait before another attempt (which failures get one is
 * net-error.ts's isRetryable). Pure: the random source and the clock are
 * parameters.
 *
 * The delay doubles from `baseMs` up to `maxMs`, with "equal jitter" (half
 * fixed, half random) so that parallel downloads that failed together do not
 * retry together; a server's Retry-After is honoured up to `maxRetryAfterMs`.
 */

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  attempts: number;
  baseMs: number;
  maxMs: number;
  /** A longer Retry-After than this is not waited for: the attempt fails. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 4, baseMs: 250, maxMs: 10_000, maxRetryAfterMs: 60_000 };

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
