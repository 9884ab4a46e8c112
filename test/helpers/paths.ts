import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The checkout's root (tests run from dist/test/). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The shared reference material (Mock's schemas and outputs), beside the checkout. */
export const referenceDir = join(repoRoot, '..', 'shared', 'reference');
