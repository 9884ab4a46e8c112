/**
 * The world builder's lock: one builder per world key, waiting for ever; the
 * kernel releases it if a builder dies (src/util/lock.ts).
 */
import { takeLock } from '../../src/util/lock.js';

export interface HeldLock {
  release(): Promise<void>;
}

export async function acquireLock(path: string): Promise<HeldLock> {
  const lock = await takeLock(path, `world lock ${path}`, { waitMs: Infinity });
  return { release: async () => lock.release() };
}
