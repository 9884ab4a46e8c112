/**
 * What a download may cost, in one place for every HTTP client (the shared
 * transport takes it over as is). dnf's defaults: `timeout` 30 s and `minrate`
 * 1000 bytes/s, which librepo hands to curl as CONNECTTIMEOUT, LOW_SPEED_TIME
 * and LOW_SPEED_LIMIT: an attempt fails once its rate (over the last few
 * seconds, headers not yet in counting as zero) stays below minrate for a
 * whole timeout. dnf then retries such a file for minutes; here a file that
 * has made no progress for `deadline` (three timeouts by default: 90 s) fails,
 * retries included. A body is capped at the size the record states, else at
 * a ceiling. Which failures are retried is net-error.ts's (never one of the
 * local side: a full disk, a read-only or denied directory). Pure: no I/O,
 * the clock is passed in.
 */

export interface DownloadLimits {
  /** Connect, and the longest time the rate may stay below minRate (ms). */
  timeoutMs: number;
  /** Bytes per second an attempt must keep up over each timeout. */
  minRate: number;
  /** A file making no progress this long fails, retries included (ms). */
  deadlineMs: number;
}

export const defaultTimeoutSeconds = 30;
export const defaultMinRate = 1000;

export function downloadLimits(timeoutSeconds = defaultTimeoutSeconds, minRate = defaultMinRate): DownloadLimits {
  return { timeoutMs: timeoutSeconds * 1000, minRate, deadlineMs: 3 * timeoutSeconds * 1000 };
}

/** The largest body taken for a file whose size no record states: 4 GiB. */
export const defaultSizeCeiling = 4 * 1024 ** 3;

/** The cap on a body: exactly the recorded size when there is one, else the ceiling. */
export function bodyCap(recordedSize: number | null | undefined, ceiling: number): number {
  return recordedSize ?? ceiling;
}

/** Width of the window the current rate is measured over, as curl's (ms). */
const rateWindowMs = 5000;

export type RateVerdict = 'progress' | 'slow' | 'too-slow';

/**
 * The rate check of one attempt. sample() is called about once a second with
 * the bytes received so far: 'progress' while the rate keeps up, 'slow' while
 * it has been below minRate for less than a timeout, then 'too-slow'.
 */
export class RateWatch {
  private readonly samples: { at: number; bytes: number }[];
  /** Since when the rate has been below minRate; nothing received yet counts as slow. */
  private slowSince: number | undefined;

  constructor(
    private readonly limits: DownloadLimits,
    startedAt: number,
  ) {
    this.samples = [{ at: startedAt, bytes: 0 }];
    this.slowSince = startedAt;
  }

  sample(now: number, bytes: number): RateVerdict {
    this.samples.push({ at: now, bytes });
    while (this.samples.length > 2 && now - this.samples[1]!.at >= rateWindowMs) this.samples.shift();
    const first = this.samples[0]!;
    const seconds = Math.max(now - first.at, 1) / 1000;
    if ((bytes - first.bytes) / seconds >= this.limits.minRate) {
      this.slowSince = undefined;
      return 'progress';
    }
    this.slowSince ??= now;
    return now - this.slowSince >= this.limits.timeoutMs ? 'too-slow' : 'slow';
  }
}
