/**
 * Resolve a reference, pick the platform's manifest, and bring its config
 * (and, for a pull, its layers) into the blob store.
 */
import { ExitCode, IsomockError } from '../errors.js';
import { parseConfig, parseManifest, type ImageConfig, type ImageManifest, type Platform } from './manifest.js';
import { checkConfigPlatform, selectFromIndex } from './platform.js';
import { formatReference, type ImageReference } from './reference.js';
import { resolveShortName, type RegistriesConf } from './registries-conf.js';
import type { RegistryClient } from './registry-client.js';
import type { BlobStore } from './store.js';

/** An image whose manifest and config are in the store. */
export interface StoredImage {
  ref: ImageReference;
  /** Digest of the platform's image manifest: Mock's `pull_digest`. */
  manifestDigest: string;
  manifest: ImageManifest;
  configDigest: string;
  config: ImageConfig;
}

/** Read an image's manifest and config back from the store, checking both. */
export function storedImage(store: BlobStore, ref: ImageReference, manifestDigest: string): StoredImage {
  const where = formatReference(ref);
  const parsed = parseManifest(where, store.read(manifestDigest));
  if (parsed.kind !== 'manifest')
    throw new IsomockError(`${where}: ${manifestDigest} is an index, not an image manifest`, ExitCode.bootstrap);
  const config = parseConfig(`${where} (config ${parsed.config.digest})`, store.read(parsed.config.digest));
  if (config.rootfs!.diff_ids!.length !== parsed.layers.length) {
    throw new IsomockError(
      `${where}: the config lists ${config.rootfs!.diff_ids!.length} layers, the manifest ${parsed.layers.length}`,
      ExitCode.bootstrap,
    );
  }
  return { ref, manifestDigest, manifest: parsed, configDigest: parsed.config.digest, config };
}

export interface PullOptions {
  client: RegistryClient;
  store: BlobStore;
  conf: RegistriesConf;
  platform: Platform;
  /** false: manifest and config only (inspect of a remote image). */
  layers: boolean;
}

async function fetchOne(ref: ImageReference, opts: PullOptions): Promise<StoredImage> {
  const { client, store, platform } = opts;
  let fetched = await client.getManifest(ref);
  let parsed = parseManifest(formatReference(ref), fetched.bytes, fetched.contentType);
  if (parsed.kind === 'index') {
    store.writeBytes(fetched.digest, fetched.bytes, formatReference(ref));
    const chosen = selectFromIndex(formatReference(ref), parsed.manifests, platform);
    fetched = await client.getManifest(ref, chosen.digest);
    parsed = parseManifest(`${formatReference(ref)} (${chosen.digest})`, fetched.bytes, fetched.contentType);
    if (parsed.kind !== 'manifest')
      throw new IsomockError(
        `${formatReference(ref)}: index entry ${chosen.digest} is not an image manifest`,
        ExitCode.bootstrap,
      );
  }
  store.writeBytes(fetched.digest, fetched.bytes, formatReference(ref));
  await client.fetchBlob(ref, parsed.config, store);
  const image = storedImage(store, ref, fetched.digest);
  checkConfigPlatform(formatReference(ref), image.config, platform);
  if (opts.layers) {
    for (const layer of parsed.layers) await client.fetchBlob(ref, layer, store);
  }
  return image;
}

/** Try each candidate of a (possibly short) name in turn, as podman does. */
export async function pullImage(text: string, opts: PullOptions): Promise<StoredImage> {
  const candidates = resolveShortName(opts.conf, text);
  const failures: string[] = [];
  for (const ref of candidates) {
    try {
      return await fetchOne(ref, opts);
    } catch (err) {
      if (candidates.length === 1 || !(err instanceof IsomockError)) throw err;
      failures.push(err.message);
    }
  }
  throw new IsomockError(`cannot pull '${text}': ${failures.join('; ')}`, ExitCode.bootstrap);
}
