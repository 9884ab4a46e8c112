import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root (tests run from dist/test/). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The checkout a clone was made from, when it is a local path (a clone made elsewhere for a check). */
function originCheckout(): string | undefined {
  try {
    const url = execFileSync('git', ['-C', repoRoot, 'config', '--get', 'remote.origin.url'], {
      encoding: 'utf8',
    }).trim();
    return isAbsolute(url) ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The shared reference material (Mock's schemas and outputs): beside the
 * checkout, as CI lays it out, or beside the checkout this one was cloned from.
 */
export const referenceDir: string = (() => {
  const besides = [repoRoot, originCheckout()].filter((d): d is string => d !== undefined);
  const found = besides.map((d) => join(d, '..', 'shared', 'reference')).find((d) => existsSync(d));
  return found ?? join(repoRoot, '..', 'shared', 'reference');
})();
