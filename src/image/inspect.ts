/**
 * What Mock records about a bootstrap image in the lockfile: podman's
 * `.Digest`, `.Id`, `.Architecture`, and `image_digest`, the sha256 of
 * Python's json.dumps({"RootFS": ..., "Config": ...}, sort_keys=True) over
 * `podman image inspect`. podman's Config is the image config's `config`
 * decoded into the OCI ImageConfig struct and encoded again with Go's
 * omitempty, so unknown (Docker-only) keys and empty values disappear.
 */
import { createHash } from 'node:crypto';
import { pythonJsonDumps, type JsonValue } from '../python/json.js';
import { digestHex, type ImageConfig } from './manifest.js';
import type { StoredImage } from './pull.js';

export interface ImageMetadata {
  pull_digest: string;
  id: string;
  architecture: string;
  image_digest: string;
}

type Kind = 'string' | 'strings' | 'set' | 'map' | 'bool';

/** The OCI ImageConfig fields, in the Go struct's names. */
const ociConfigFields: [string, Kind][] = [
  ['User', 'string'],
  ['ExposedPorts', 'set'],
  ['Env', 'strings'],
  ['Entrypoint', 'strings'],
  ['Cmd', 'strings'],
  ['Volumes', 'set'],
  ['WorkingDir', 'string'],
  ['Labels', 'map'],
  ['StopSignal', 'string'],
  ['ArgsEscaped', 'bool'],
];

/** Go's encoding/json matches object keys to field names case-insensitively; the last match wins. */
function goField(raw: Record<string, unknown>, name: string): unknown {
  let value: unknown;
  for (const [k, v] of Object.entries(raw)) if (k.toLowerCase() === name.toLowerCase()) value = v;
  return value;
}

/** podman's rendering of an image config's `config` section. */
export function podmanConfig(config: ImageConfig): { [key: string]: JsonValue } {
  const raw = (config.config ?? {}) as Record<string, unknown>;
  const out: { [key: string]: JsonValue } = {};
  for (const [name, kind] of ociConfigFields) {
    const v = goField(raw, name);
    if (v === undefined || v === null) continue;
    if (kind === 'string' && typeof v === 'string' && v !== '') out[name] = v;
    else if (kind === 'bool' && v === true) out[name] = true;
    else if (kind === 'strings' && Array.isArray(v) && v.length > 0) out[name] = v as string[];
    else if (kind === 'set' && typeof v === 'object' && Object.keys(v).length > 0)
      out[name] = Object.fromEntries(Object.keys(v).map((k) => [k, {}]));
    else if (kind === 'map' && typeof v === 'object' && Object.keys(v).length > 0)
      out[name] = v as { [key: string]: string };
  }
  return out;
}

/** Mock's `image_digest` (mockbuild.podman.podman_get_oci_digest). */
export function imageDigest(config: ImageConfig): string {
  const doc = { RootFS: { Type: 'layers', Layers: config.rootfs?.diff_ids ?? [] }, Config: podmanConfig(config) };
  return createHash('sha256').update(pythonJsonDumps(doc)).digest('hex');
}

export function imageMetadata(image: StoredImage): ImageMetadata {
  return {
    pull_digest: image.manifestDigest,
    id: digestHex(image.configDigest),
    architecture: image.config.architecture ?? '',
    image_digest: imageDigest(image.config),
  };
}
