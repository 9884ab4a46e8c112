/**
 * OCI and Docker v2 schema 2 manifests, indexes / manifest lists and image
 * configs: parsed and checked so later steps can trust their shape.
 */
import { createHash } from 'node:crypto';
import { ExitCode, IsomockError } from '../errors.js';

export const mediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

export const manifestAccept = [
  mediaTypes.ociIndex,
  mediaTypes.dockerList,
  mediaTypes.ociManifest,
  mediaTypes.dockerManifest,
].join(', ');

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

/** The parts of an OCI / Docker image config that isomock reads. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  config?: Record<string, unknown> | null;
  rootfs?: { type?: string; diff_ids?: string[] };
}

const digestRe = /^sha256:[a-f0-9]{64}$/;

export function sha256Digest(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function digestHex(digest: string): string {
  return digest.slice('sha256:'.length);
}

function invalid(where: string, why: string): IsomockError {
  return new IsomockError(`${where}: ${why}`, ExitCode.bootstrap);
}

function descriptor(where: string, raw: unknown): Descriptor {
  const d = raw as Partial<Descriptor> | null;
  if (typeof d !== 'object' || d === null) throw invalid(where, 'a descriptor is not an object');
  if (typeof d.digest !== 'string' || !digestRe.test(d.digest)) {
    throw invalid(where, `unsupported or malformed digest '${String(d.digest)}' (only sha256 is supported)`);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0)
    throw invalid(where, `descriptor ${d.digest} has no valid size`);
  if (typeof d.mediaType !== 'string') throw invalid(where, `descriptor ${d.digest} has no mediaType`);
  return d as Descriptor;
}

export function parseJson(where: string, bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalid(where, `not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Parse a manifest or index. `headerType` is the Content-Type the registry
 * sent, used when the document itself carries no mediaType.
 */
export function parseManifest(where: string, bytes: Buffer, headerType?: string): ImageManifest | ImageIndex {
  const doc = parseJson(where, bytes) as Record<string, unknown>;
  if (typeof doc !== 'object' || doc === null) throw invalid(where, 'manifest is not a JSON object');
  if (doc.schemaVersion !== 2) throw invalid(where, `unsupported manifest schemaVersion ${String(doc.schemaVersion)}`);
  const mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : (headerType?.split(';')[0]?.trim() ?? '');
  if (Array.isArray(doc.manifests)) {
    return {
      kind: 'index',
      mediaType: mediaType || mediaTypes.ociIndex,
      manifests: doc.manifests.map((m) => descriptor(where, m)),
    };
  }
  if (doc.config !== undefined && Array.isArray(doc.layers)) {
    return {
      kind: 'manifest',
      mediaType: mediaType || mediaTypes.ociManifest,
      config: descriptor(where, doc.config),
      layers: doc.layers.map((l) => descriptor(where, l)),
    };
  }
  throw invalid(where, `not an image manifest or index (mediaType '${mediaType}')`);
}

export function parseConfig(where: string, bytes: Buffer): ImageConfig {
  const doc = parseJson(where, bytes);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw invalid(where, 'image config is not a JSON object');
  const cfg = doc as ImageConfig;
  if (cfg.rootfs?.type !== 'layers' || !Array.isArray(cfg.rootfs.diff_ids))
    throw invalid(where, "image config has no rootfs of type 'layers'");
  return cfg;
}
