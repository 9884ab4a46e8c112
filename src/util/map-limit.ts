/**
 * The one bound on fan-out: fn over every item, at most `limit` at a time
 * (p-limit), results in item order. After the first failure no further item
 * starts; the calls already running settle before that failure is thrown, so
 * nothing is still writing behind the caller's back.
 */
import pLimit from 'p-limit';

/** Concurrency where a command has no --jobs: enough to hide latency, far below RLIMIT_NOFILE. */
export const defaultJobs = 8;

export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const run = pLimit(Math.max(1, limit));
  let failure: { error: unknown } | undefined;
  const settled = await Promise.allSettled(
    items.map((item, i) =>
      run(async () => {
        if (failure) return undefined as R;
        try {
          return await fn(item, i);
        } catch (error) {
          failure ??= { error };
          throw error;
        }
      }),
    ),
  );
  if (failure) throw failure.error;
  return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
}
