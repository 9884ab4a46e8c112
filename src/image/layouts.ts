/**
 * Images saved for offline use, in the two layouts Mock reads:
 * - containers/image `dir:` at `<repo>/<registry>/<repository>@sha256:<hex>/`
 *   (what `skopeo sync --scoped --preserve-digests` writes; Mock >= 6.7);
 * - an OCI archive, `bootstrap.tar` (Mock 5.7 - 6.6).
 * Blobs come from the store, verified, by reflink, hard link or copy
 * (store/place.ts), and loading verifies every blob on its way back into the
 * store.
 */
import { createReadStream, existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as tar from 'tar';
import { ExitCode, IsomockError } from '../errors.js';
import { digestHex, parseJson, parseManifest, sha256Digest, type Descriptor, type Platform } from './manifest.js';
import { selectFromIndex } from './platform.js';
import { storedImage, type StoredImage } from './pull.js';
import { formatReference, parseReference, type ImageReference } from './reference.js';
import type { BlobStore } from './store.js';

export const dirVersion = 'Directory Transport Version: 1.1\n';

function blobsOf(image: StoredImage): Descriptor[] {
  return [image.manifest.config, ...image.manifest.layers];
}

/** The `dir:` directory Mock expects for `image` below `repoDir`. */
export function dirLayoutPath(repoDir: string, image: StoredImage): string {
  return join(repoDir, image.ref.registry, `${image.ref.repository}@${image.manifestDigest}`);
}

/**
 * Write the `dir:` layout; returns its directory. Blobs are placed from the
 * store (store/place.ts), by hard link only with `hardLink` (the layout's
 * final home is a directory nothing else can write).
 */
export async function saveDir(
  store: BlobStore,
  image: StoredImage,
  repoDir: string,
  hardLink: boolean,
): Promise<string> {
  const dir = dirLayoutPath(repoDir, image);
  mkdirSync(dir, { recursive: true });
  for (const d of blobsOf(image)) await store.place(d.digest, dir, digestHex(d.digest), hardLink);
  writeFileSync(join(dir, 'manifest.json'), store.read(image.manifestDigest));
  writeFileSync(join(dir, 'version'), dirVersion);
  return dir;
}

/** Stream a layout's blob into the store, checking digest and size. */
async function importBlob(store: BlobStore, file: string, d: Descriptor): Promise<void> {
  if (!existsSync(file)) throw new IsomockError(`${file}: missing blob ${d.digest}`, ExitCode.bootstrap);
  await store.write(d.digest, d.size, createReadStream(file), file);
}

/** The reference a `dir:` layout stands for, from its place `<registry>/<repository>@sha256:...`. */
function refFromDirPath(dir: string): { ref: ImageReference; digest?: string } {
  const parts = dir.replace(/\/+$/, '').split('/');
  const last = parts[parts.length - 1] ?? '';
  const at = last.indexOf('@sha256:');
  // Try the longest `registry/repository` that parses, walking up the path.
  for (let n = parts.length - 2; n >= 0 && at > 0; n--) {
    try {
      const ref = parseReference([...parts.slice(n, -1), last.slice(0, at)].join('/'));
      return {
        ref: { registry: ref.registry, repository: ref.repository, digest: last.slice(at + 1) },
        digest: last.slice(at + 1),
      };
    } catch {
      // not a registry component yet
    }
  }
  return {
    ref: {
      registry: 'localhost',
      repository:
        basename(dir)
          .toLowerCase()
          .replace(/[^a-z0-9._-]/g, '') || 'image',
    },
  };
}

/** Load a `dir:` layout into the store. */
export async function loadDir(store: BlobStore, dir: string): Promise<StoredImage> {
  const versionFile = join(dir, 'version');
  if (!existsSync(versionFile) || readFileSync(versionFile, 'utf8') !== dirVersion) {
    throw new IsomockError(
      `${dir}: not a containers/image dir: layout (no '${dirVersion.trim()}' in ${versionFile})`,
      ExitCode.bootstrap,
    );
  }
  const manifestFile = join(dir, 'manifest.json');
  const bytes = readFileSync(manifestFile);
  const digest = sha256Digest(bytes);
  const { ref, digest: named } = refFromDirPath(dir);
  if (named !== undefined && named !== digest) {
    throw new IsomockError(
      `${manifestFile}: manifest digest ${digest} does not match the directory name (${named})`,
      ExitCode.bootstrap,
    );
  }
  const parsed = parseManifest(manifestFile, bytes);
  if (parsed.kind !== 'manifest')
    throw new IsomockError(`${manifestFile}: an index, not an image manifest`, ExitCode.bootstrap);
  for (const d of [parsed.config, ...parsed.layers]) await importBlob(store, join(dir, digestHex(d.digest)), d);
  store.writeBytes(digest, bytes, manifestFile);
  return storedImage(store, { ...ref, digest }, digest);
}

const refNameAnnotation = 'org.opencontainers.image.ref.name';

/** Write an OCI archive holding `image`, tagged with its reference. */
export async function saveOciArchive(store: BlobStore, image: StoredImage, file: string): Promise<void> {
  const staging = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}`);
  const blobDir = join(staging, 'blobs', 'sha256');
  mkdirSync(blobDir, { recursive: true });
  try {
    const manifestBytes = store.read(image.manifestDigest);
    writeFileSync(join(blobDir, digestHex(image.manifestDigest)), manifestBytes);
    // A private staging directory, gone once the archive is written: links are fine.
    for (const d of blobsOf(image)) await store.place(d.digest, blobDir, digestHex(d.digest), true);
    writeFileSync(join(staging, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const index = {
      schemaVersion: 2,
      manifests: [
        {
          mediaType: image.manifest.mediaType,
          digest: image.manifestDigest,
          size: manifestBytes.length,
          annotations: { [refNameAnnotation]: formatReference({ ...image.ref, digest: undefined } as ImageReference) },
        },
      ],
    };
    writeFileSync(join(staging, 'index.json'), JSON.stringify(index));
    await tar.create({ file: `${file}.part`, cwd: staging, portable: true }, ['oci-layout', 'index.json', 'blobs']);
    rmSync(file, { force: true });
    linkSync(`${file}.part`, file);
  } finally {
    rmSync(`${file}.part`, { force: true });
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Load an OCI archive (the first image, or the one for `platform` in an index). */
export async function loadOciArchive(store: BlobStore, file: string, platform: Platform): Promise<StoredImage> {
  const staging = join(store.root, 'tmp', `archive-${randomBytes(6).toString('hex')}`);
  mkdirSync(staging, { recursive: true });
  try {
    try {
      await tar.extract({ file, cwd: staging, strict: true, preservePaths: false });
    } catch (err) {
      throw new IsomockError(`${file}: not a readable tar archive: ${(err as Error).message}`, ExitCode.bootstrap);
    }
    const blob = (d: Descriptor): string => join(staging, 'blobs', 'sha256', digestHex(d.digest));
    const readChecked = (d: Descriptor): Buffer => {
      const bytes = readFileSync(blob(d));
      if (sha256Digest(bytes) !== d.digest)
        throw new IsomockError(`${file}: blob ${d.digest} does not match its digest`, ExitCode.bootstrap);
      return bytes;
    };
    const indexFile = join(staging, 'index.json');
    if (!existsSync(indexFile))
      throw new IsomockError(`${file}: not an OCI archive (no index.json)`, ExitCode.bootstrap);
    const index = parseJson(`${file}: index.json`, readFileSync(indexFile)) as {
      manifests?: (Descriptor & { annotations?: Record<string, string> })[];
    };
    let top = index.manifests?.[0];
    if (!top) throw new IsomockError(`${file}: index.json lists no image`, ExitCode.bootstrap);
    const refName = top.annotations?.[refNameAnnotation];
    let bytes = readChecked(top);
    let parsed = parseManifest(`${file}: ${top.digest}`, bytes);
    if (parsed.kind === 'index') {
      top = selectFromIndex(file, parsed.manifests, platform);
      bytes = readChecked(top);
      parsed = parseManifest(`${file}: ${top.digest}`, bytes);
      if (parsed.kind !== 'manifest')
        throw new IsomockError(`${file}: nested indexes are not supported`, ExitCode.bootstrap);
    }
    for (const d of [parsed.config, ...parsed.layers]) await importBlob(store, blob(d), d);
    store.writeBytes(top.digest, bytes, file);
    let ref: ImageReference = {
      registry: 'localhost',
      repository: basename(file)
        .replace(/\.tar$/, '')
        .toLowerCase(),
    };
    try {
      if (refName?.includes('/')) ref = parseReference(refName);
    } catch {
      // a bare tag such as "latest" names no repository
    }
    return storedImage(store, { registry: ref.registry, repository: ref.repository, digest: top.digest }, top.digest);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
