/**
 * One entry point for "give me this image": a registry reference (short or
 * fully qualified, optionally `docker://`), or a saved `dir:` / `oci-archive:`
 * layout, always ending as a verified image in the blob store.
 */
import type { Env } from '../net/proxy-choice.js';
import { loadAuthFile } from './auth.js';
import { loadDir, loadOciArchive } from './layouts.js';
import type { Platform } from './manifest.js';
import { hostRpmArch, ociPlatform } from './platform.js';
import { pullImage, type StoredImage } from './pull.js';
import { loadRegistriesConf, type RegistriesConf } from './registries-conf.js';
import { RegistryClient } from './registry-client.js';
import { BlobStore } from './store.js';

export interface ImageContext {
  store: BlobStore;
  conf: RegistriesConf;
  client: RegistryClient;
  platform: Platform;
}

export interface ContextOptions {
  /** rpm arch of the target (default: this machine's). */
  arch?: string;
  storeDir?: string;
  registriesConf?: string;
  authFile?: string;
  /** Proxy variables and SSL_CERT_FILE for the registry client (default: this process's environment, as podman). */
  env?: Env;
  /** Where certs.d directories are looked for (default: podman's). */
  certsDRoots?: readonly string[];
}

export function imageContext(opts: ContextOptions = {}): ImageContext {
  const conf = loadRegistriesConf(opts.registriesConf);
  return {
    store: new BlobStore(opts.storeDir),
    conf,
    client: new RegistryClient({
      conf,
      auth: loadAuthFile(opts.authFile),
      env: opts.env ?? process.env,
      ...(opts.certsDRoots && { certsDRoots: opts.certsDRoots }),
    }),
    platform: ociPlatform(opts.arch ?? hostRpmArch()),
  };
}

/** Bring the image into the store; `layers: false` fetches only manifest and config. */
export function getImage(ctx: ImageContext, text: string, layers: boolean): Promise<StoredImage> {
  if (text.startsWith('dir:')) return loadDir(ctx.store, text.slice('dir:'.length));
  if (text.startsWith('oci-archive:'))
    return loadOciArchive(ctx.store, text.slice('oci-archive:'.length), ctx.platform);
  const ref = text.startsWith('docker://') ? text.slice('docker://'.length) : text;
  return pullImage(ref, { ...ctx, layers });
}
