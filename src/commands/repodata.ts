/**
 * Repository metadata for a directory of RPMs, replaced atomically:
 * createrepo_c writes into an isomock-named temporary directory (its own
 * `.repodata/` lock included), and the result is renamed into place, so
 * DIR/repodata is always either the previous metadata or the new one, and
 * a stale `.repodata/` left by someone else is never touched.
 */
import { mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import { run } from '../buildroot/process.js';

const createrepo = '/usr/bin/createrepo_c';
/** Prefixes of every temporary name isomock uses in a repository directory. */
const newPrefix = '.isomock-repodata-';
const oldPrefix = '.isomock-old-repodata-';

function environment(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Moves DIR/repodata out of the way and deletes it (nothing there refers to it any more). */
export function retireRepodata(dir: string): void {
  const aside = join(dir, `${oldPrefix}${process.pid}-${Date.now()}`);
  try {
    renameSync(join(dir, 'repodata'), aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new IsomockError(`cannot replace ${join(dir, 'repodata')}: ${(err as Error).message}`, ExitCode.error);
  }
  rmSync(aside, { recursive: true, force: true });
}

/** Removes what an interrupted run may have left: isomock's temporary metadata directories. */
export function removeRepodataLeftovers(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (name.startsWith(newPrefix) || name.startsWith(oldPrefix))
      rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/** createrepo_c --compatibility over dir, swapped into dir/repodata. */
export async function makeRepodata(dir: string): Promise<void> {
  const staging = mkdtempSync(join(dir, newPrefix));
  try {
    const output: string[] = [];
    const result = await run([createrepo, '--compatibility', '--quiet', '--outputdir', staging, dir], {
      env: environment(),
      onLine: (line) => output.push(line),
    });
    if (result.code !== 0) {
      throw new IsomockError(
        `createrepo_c failed on ${dir} (exit ${result.code}): ${output.join(' ').trim() || 'no output'}`,
        ExitCode.error,
      );
    }
    retireRepodata(dir);
    renameSync(join(staging, 'repodata'), join(dir, 'repodata'));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
