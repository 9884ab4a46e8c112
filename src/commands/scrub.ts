/**
 * `--clean` and `--scrub`: removing a buildroot and the caches of a root,
 * with Mock's meaning for each scrub type. Every removal goes through
 * removeTree, which refuses to delete anything with a mount below it.
 */
import { join } from 'node:path';
import type { BuildConfig } from '../buildroot/build-config.js';
import { bootstrapScratchDir } from '../buildroot/buildroot.js';
import { removeTree } from '../buildroot/remove.js';
import { removeStore } from '../store/content-store.js';

export const scrubTypes = [
  'all',
  'chroot',
  'bootstrap',
  'cache',
  'root-cache',
  'c-cache',
  'yum-cache',
  'dnf-cache',
  // isomock's own: the content-addressed store of RPMs and image blobs (store/content-store.ts).
  'store',
] as const;
export type ScrubType = (typeof scrubTypes)[number];

export function isScrubType(s: string): s is ScrubType {
  return (scrubTypes as readonly string[]).includes(s);
}

/**
 * Mock's clean: the whole basedir/root tree (the buildroot, and the default
 * result dir inside it), and rootdir when it lives elsewhere. isomock's
 * bootstrap chroot is only a scratch layer over the cached image, so it goes too.
 */
export async function cleanRoot(config: BuildConfig): Promise<void> {
  for (const dir of [join(config.basedir, config.root), config.rootdir, bootstrapScratchDir(config)]) {
    await removeTree(dir);
  }
}

/** The directories one scrub type removes, besides the chroot itself. */
function cacheDirs(config: BuildConfig, type: ScrubType): string[] {
  const cache = config.cachedir;
  switch (type) {
    case 'all':
    case 'cache':
      return [cache];
    case 'root-cache':
      return [join(cache, 'root_cache')];
    case 'c-cache':
      return [join(cache, 'ccache')];
    case 'yum-cache':
    case 'dnf-cache':
      // Mock treats the two as one: both caches go.
      return [join(cache, 'yum_cache'), join(cache, 'dnf_cache')];
    case 'chroot':
    case 'bootstrap':
    case 'store':
      return [];
  }
}

/**
 * Runs the scrubs in the order given. The unpacked bootstrap images under
 * cache_topdir are shared by every root (keyed by image), so no root's scrub
 * removes them; `bootstrap` removes this root's bootstrap scratch. `store`
 * (and `all`) removes the content-addressed store, which every root shares:
 * it is a cache whose entries are fetched again when wanted, and output
 * repositories keep their own links to what they hold.
 */
export async function scrub(config: BuildConfig, types: ScrubType[], notify: (m: string) => void): Promise<void> {
  for (const type of types) {
    notify(`scrubbing ${type === 'all' ? 'everything' : type} for ${config.root}`);
    if (type === 'all' || type === 'chroot') await cleanRoot(config);
    if (type === 'bootstrap') await removeTree(bootstrapScratchDir(config));
    for (const dir of cacheDirs(config, type)) await removeTree(dir);
    if (type === 'all' || type === 'store') removeStore();
  }
}
