/**
 * The tests' key under the host's /usr/share/distribution-gpg-keys (where
 * Fedora's configs point `gpgkey=file://...`; Debian 12 ships no
 * distribution-gpg-keys package). Held under a flock for as long as a test
 * file uses it, so test files in other worktrees take turns; the directory
 * and its `isomock-test` subdirectory are created only if absent and removed
 * only if this holder made them.
 */
import { existsSync, mkdirSync, rmdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { takeLock } from '../../src/util/lock.js';
import { cacheRoot } from '../../world/build.js';

export const distributionKeysDir = '/usr/share/distribution-gpg-keys';
const subdir = 'isomock-test';

export interface HeldDistributionKey {
  /** The key's path on the host (and, as Mock copies it, in the bootstrap). */
  path: string;
  /** The file:// URL a config's gpgkey= names. */
  url: string;
  release(): void;
}

/** Puts keyFile's content at /usr/share/distribution-gpg-keys/isomock-test/NAME until release(). */
export async function holdDistributionKey(keyFile: string, name: string): Promise<HeldDistributionKey> {
  mkdirSync(cacheRoot(), { recursive: true });
  const lock = await takeLock(join(cacheRoot(), '.distribution-gpg-keys.lock'), 'the distribution-gpg-keys lock', {
    waitMs: Infinity,
  });
  const made: string[] = [];
  const path = join(distributionKeysDir, subdir, name);
  try {
    for (const dir of [distributionKeysDir, join(distributionKeysDir, subdir)]) {
      if (!existsSync(dir)) {
        mkdirSync(dir, { mode: 0o755 });
        made.unshift(dir);
      }
    }
    writeFileSync(path, readFileSync(keyFile));
  } catch (err) {
    lock.release();
    throw err;
  }
  return {
    path,
    url: `file://${path}`,
    release() {
      try {
        rmSync(path, { force: true });
        for (const dir of made) rmdirSync(dir);
      } finally {
        lock.release();
      }
    },
  };
}
