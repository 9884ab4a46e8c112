/**
 * The temporary directories of isolated-repo's image step (`.isomock-image-*`
 * inside the output repository) and their removal, kept apart from the step
 * itself so that a run whose lockfile has no bootstrap image cleans up after
 * an interrupted earlier one without loading the image stack (the registry
 * client, undici, tar).
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const imageTempPrefix = '.isomock-image-';

/** Removes temporary image directories an interrupted run left behind. */
export function removeImageLeftovers(repoDir: string): void {
  for (const name of readdirSync(repoDir)) {
    if (name.startsWith(imageTempPrefix)) rmSync(join(repoDir, name), { recursive: true, force: true });
  }
}
