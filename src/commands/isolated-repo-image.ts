/**
 * The bootstrap image of an offline repository: pulled by the lockfile's
 * pull_digest for the lockfile's architecture and saved in the `dir:` layout
 * Mock >= 6.7 reads (`<repo>/<registry>/<repository>@sha256:<hex>/`), and
 * optionally as bootstrap.tar. The layout is assembled in an isomock-named
 * temporary directory and renamed into place, so a layout under its final
 * name is always complete; a complete one is reused without any network.
 */
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import { checkHost } from '../net/address-policy.js';
import type { Lockfile } from '../lockfile/lockfile.js';
import { dirLayoutPath, dirVersion, loadDir, saveDir, saveOciArchive } from '../image/layouts.js';
import { digestHex, parseManifest, sha256Digest } from '../image/manifest.js';
import { imageMetadata } from '../image/inspect.js';
import { loadRegistriesConf, resolveShortName } from '../image/registries-conf.js';
import { splitReference } from '../image/reference.js';
import type { StoredImage } from '../image/pull.js';
import { getImage, imageContext, type ImageContext } from '../image/source.js';
import { BlobStore } from '../image/store.js';
import { storeLocation } from '../store/content-store.js';
import { imageTempPrefix } from './isolated-repo-leftovers.js';
import { onlyOursCanWrite } from '../store/place.js';

export interface SavedImage {
  /** The `dir:` layout directory. */
  dir: string;
  /** bootstrap.tar, when asked for. */
  archive?: string;
  /** True when the layout was already complete and nothing was fetched. */
  reused: boolean;
}

function badLock(lockfile: string, what: string): IsomockError {
  return new IsomockError(`invalid lockfile ${lockfile}: ${what}`, ExitCode.badCmdline);
}

/**
 * Whether the `dir:` layout at path holds the image pull_digest names: its
 * manifest hashes to the digest and every blob it lists has its size. A
 * directory there that is not such a layout is someone else's.
 */
function layoutComplete(path: string, pullDigest: string): boolean {
  if (!existsSync(path)) return false;
  const fail = (why: string): never => {
    throw new IsomockError(`${path} is in the way: ${why}; move it away and run again`, ExitCode.error);
  };
  let manifest: Buffer;
  try {
    if (readFileSync(join(path, 'version'), 'utf8') !== dirVersion) fail('its version file is not a dir: layout one');
    manifest = readFileSync(join(path, 'manifest.json'));
  } catch (err) {
    if (err instanceof IsomockError) throw err;
    return fail(`not a complete dir: layout (${(err as Error).message})`);
  }
  if (sha256Digest(manifest) !== pullDigest) fail(`its manifest.json is not ${pullDigest}`);
  const parsed = parseManifest(join(path, 'manifest.json'), manifest);
  if (parsed.kind !== 'manifest') fail('its manifest.json is an index');
  for (const d of parsed.kind === 'manifest' ? [parsed.config, ...parsed.layers] : []) {
    const blob = join(path, digestHex(d.digest));
    if (!existsSync(blob) || statSync(blob).size !== d.size) fail(`blob ${d.digest} is missing or truncated`);
  }
  return true;
}

/** The shared image store when this user may write it, else a temporary one inside the repository. */
function chooseStore(repoDir: string): { store: BlobStore; temporary: boolean } {
  const shared = storeLocation();
  try {
    mkdirSync(shared, { recursive: true });
    accessSync(shared, constants.W_OK);
    return { store: new BlobStore(shared), temporary: false };
  } catch {
    return { store: new BlobStore(mkdtempSync(join(repoDir, `${imageTempPrefix}store-`))), temporary: true };
  }
}

/**
 * Throws unless every registry the lockfile's bootstrap image may be pulled
 * from (short names resolved as podman would) may be reached: the name comes
 * from a lockfile, so never a link-local address unless allowed. Checked
 * before any download.
 */
export async function checkBootstrapRegistries(lock: Lockfile, allowLinkLocal: boolean): Promise<void> {
  const imageName = lock.config['bootstrap_image'];
  if (!lock.bootstrap || typeof imageName !== 'string') return;
  for (const ref of resolveShortName(loadRegistriesConf(), splitReference(imageName).name))
    await checkHost(ref.registry, imageName, allowLinkLocal);
}

/** Saves the lockfile's bootstrap image into repoDir; undefined when the lockfile used none. */
export async function saveBootstrapImage(
  lock: Lockfile,
  lockfile: string,
  repoDir: string,
  archive: boolean,
): Promise<SavedImage | undefined> {
  if (!lock.bootstrap) return undefined;
  const pullDigest = lock.bootstrap.pull_digest;
  const imageName = lock.config['bootstrap_image'];
  if (typeof imageName !== 'string')
    throw badLock(lockfile, 'bootstrap is set but config.bootstrap_image is not an image name');
  if (pullDigest === undefined) return saveByImageDigest(lock, imageName, repoDir);
  const name = splitReference(imageName).name;
  const pinned = `${name}@${pullDigest}`;

  const { store, temporary } = chooseStore(repoDir);
  try {
    const ctx: ImageContext = { ...imageContext({ storeDir: store.root }), store };
    if (lock.bootstrap.architecture !== undefined)
      ctx.platform = { os: 'linux', architecture: lock.bootstrap.architecture };
    // Short names are resolved as podman would; any candidate already saved will do.
    for (const ref of resolveShortName(ctx.conf, pinned)) {
      const dir = join(repoDir, ref.registry, `${ref.repository}@${pullDigest}`);
      if (layoutComplete(dir, pullDigest)) {
        return {
          dir,
          reused: true,
          ...(archive && { archive: await writeArchive(store, await loadDir(store, dir), repoDir) }),
        };
      }
    }
    const image = await getImage(ctx, pinned, true);
    if (image.manifestDigest !== pullDigest) {
      throw new IsomockError(
        `${pinned} is a multi-arch index; its ${ctx.platform.architecture} image is ${image.manifestDigest}, which Mock's dir: layout cannot name: lock the image manifest's digest instead`,
        ExitCode.bootstrap,
      );
    }
    const staging = mkdtempSync(join(repoDir, imageTempPrefix));
    const dir = dirLayoutPath(repoDir, image);
    try {
      mkdirSync(dirname(dir), { recursive: true });
      renameSync(await saveDir(store, image, staging, onlyOursCanWrite(repoDir)), dir);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    return { dir, reused: false, ...(archive && { archive: await writeArchive(store, image, repoDir) }) };
  } finally {
    if (temporary) rmSync(store.root, { recursive: true, force: true });
  }
}

/**
 * A 1.0.0 lockfile names its image by tag and records only image_digest, so
 * the image is pulled by tag, must still have that digest (else the tag has
 * moved since the lockfile was made), and is saved as bootstrap.tar, where
 * Mock 5.7-6.0 and isomock's --isolated-build look for it.
 */
async function saveByImageDigest(lock: Lockfile, imageName: string, repoDir: string): Promise<SavedImage> {
  const { store, temporary } = chooseStore(repoDir);
  try {
    const arch = lock.config['target_arch'];
    const ctx: ImageContext = {
      ...imageContext({ storeDir: store.root, ...(typeof arch === 'string' && { arch }) }),
      store,
    };
    const image = await getImage(ctx, imageName, true);
    const found = imageMetadata(image).image_digest;
    if (found !== lock.bootstrap!.image_digest) {
      throw new IsomockError(
        `${imageName} now has image_digest ${found}, not the locked ${lock.bootstrap!.image_digest}: the tag has moved since the lockfile was made`,
        ExitCode.bootstrap,
      );
    }
    const archive = await writeArchive(store, image, repoDir);
    return { dir: archive, archive, reused: false };
  } finally {
    if (temporary) rmSync(store.root, { recursive: true, force: true });
  }
}

/**
 * bootstrap.tar, rewritten each time it is asked for (it may hold another
 * lockfile's image). Made in a fresh private directory and renamed into
 * place: a link planted at bootstrap.tar(.part) is replaced, never written through.
 */
async function writeArchive(store: BlobStore, image: StoredImage, repoDir: string): Promise<string> {
  const file = join(repoDir, 'bootstrap.tar');
  const staging = mkdtempSync(join(repoDir, imageTempPrefix));
  try {
    await saveOciArchive(store, image, join(staging, 'bootstrap.tar'));
    renameSync(join(staging, 'bootstrap.tar'), file);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return file;
}
