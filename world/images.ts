/**
 * The world's container images: small hand-made images for the image tests
 * (layers from directories or crafted tar entries, OCI or Docker v2 schema 2
 * manifests, multi-arch indexes, gzip or zstd layers), the dnf + rpm
 * bootstrap image made with mmdebstrap, and the rpm-only bootstrap made from
 * the world's own packages, all pushed to a loopback registry over the
 * distribution API.
 */
import { sha256OfFile } from '../src/lockfile/record.js';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { gzipSync, createGzip } from 'node:zlib';
import { Header, type ReadEntry } from 'tar';
import { mediaTypes, sha256Digest } from '../src/image/manifest.js';
import { ensureWorld } from './build.js';
import type { WorldInfo } from './manifest.js';

export interface Blob {
  digest: string;
  size: number;
  /** In memory, or a file for big layers. */
  data: Buffer | { file: string };
}

export interface BuiltImage {
  manifest: Buffer;
  manifestDigest: string;
  mediaType: string;
  blobs: Blob[];
  architecture: string;
}

export type Compression = 'gzip' | 'zstd' | 'none';

export interface Layer {
  blob: Blob;
  diffId: string;
  compression: Compression;
}

function blobOf(data: Buffer): Blob {
  return { digest: sha256Digest(data), size: data.length, data };
}

/** A layer from an uncompressed tar. */
export function layerFromTar(raw: Buffer, compression: Compression = 'gzip'): Layer {
  const data =
    compression === 'gzip'
      ? gzipSync(raw)
      : compression === 'zstd'
        ? execFileSync('zstd', ['-q', '-c', '-'], { input: raw, maxBuffer: 1 << 30 })
        : raw;
  return { blob: blobOf(data), diffId: sha256Digest(raw), compression };
}

export interface CraftedEntry {
  path: string;
  type?: ReadEntry['type'];
  linkpath?: string;
  data?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

/** A raw tar of crafted entries, including ones no tar(1) would write (`..` paths, links out of the tree). */
export function craftedTar(entries: CraftedEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'File';
    const data = Buffer.from(type === 'File' ? (e.data ?? '') : '');
    const h = new Header({
      path: e.path,
      type,
      mode: e.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      size: data.length,
      mtime: new Date(0),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      ...(e.linkpath !== undefined && { linkpath: e.linkpath }),
    });
    const block = Buffer.alloc(512);
    h.encode(block);
    blocks.push(block, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

/** A layer holding the contents of `dir` (owners and modes as they are on disk). */
export function layerFromDir(dir: string, compression: Compression = 'gzip'): Layer {
  const raw = execFileSync('tar', ['-C', dir, '--sort=name', '--numeric-owner', '-cf', '-', '.'], {
    maxBuffer: 1 << 30,
  });
  return layerFromTar(raw, compression);
}

const layerTypes: Record<'oci' | 'docker', Record<Compression, string>> = {
  oci: {
    gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
    zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
    none: 'application/vnd.oci.image.layer.v1.tar',
  },
  docker: {
    gzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
    zstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
    none: 'application/vnd.docker.image.rootfs.diff.tar',
  },
};

export interface ImageSpec {
  layers: Layer[];
  architecture: string;
  format?: 'oci' | 'docker';
  /** The config's `config` section (Cmd, Env, Labels, ...). */
  config?: Record<string, unknown>;
  created?: string;
}

export function buildImage(spec: ImageSpec): BuiltImage {
  const format = spec.format ?? 'oci';
  const config = Buffer.from(
    JSON.stringify({
      created: spec.created ?? '2026-01-01T00:00:00Z',
      architecture: spec.architecture,
      os: 'linux',
      config: spec.config ?? {},
      rootfs: { type: 'layers', diff_ids: spec.layers.map((l) => l.diffId) },
    }),
  );
  const configBlob = blobOf(config);
  const mediaType = format === 'oci' ? mediaTypes.ociManifest : mediaTypes.dockerManifest;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: {
        mediaType: format === 'oci' ? mediaTypes.ociConfig : mediaTypes.dockerConfig,
        digest: configBlob.digest,
        size: configBlob.size,
      },
      layers: spec.layers.map((l) => ({
        mediaType: layerTypes[format][l.compression],
        digest: l.blob.digest,
        size: l.blob.size,
      })),
    }),
  );
  return {
    manifest,
    manifestDigest: sha256Digest(manifest),
    mediaType,
    blobs: [configBlob, ...spec.layers.map((l) => l.blob)],
    architecture: spec.architecture,
  };
}

/** An OCI index over per-platform images. */
export function buildIndex(images: BuiltImage[]): BuiltImage & { children: BuiltImage[] } {
  const mediaType = mediaTypes.ociIndex;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: images.map((i) => ({
        mediaType: i.mediaType,
        digest: i.manifestDigest,
        size: i.manifest.length,
        platform: { architecture: i.architecture, os: 'linux' },
      })),
    }),
  );
  return { manifest, manifestDigest: sha256Digest(manifest), mediaType, blobs: [], architecture: '', children: images };
}

function request(
  method: string,
  url: URL,
  body: Buffer | { file: string } | undefined,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const size = body === undefined ? 0 : Buffer.isBuffer(body) ? body.length : statSync(body.file).size;
    const req = http.request(url, { method, headers: { ...headers, 'Content-Length': String(size) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    if (body === undefined || Buffer.isBuffer(body)) req.end(body);
    else createReadStream(body.file).pipe(req);
  });
}

async function pushBlob(host: string, repository: string, blob: Blob): Promise<void> {
  const base = `http://${host}/v2/${repository}/blobs`;
  if ((await request('HEAD', new URL(`${base}/${blob.digest}`), undefined)).status === 200) return;
  const start = await request('POST', new URL(`${base}/uploads/`), undefined);
  if (start.status !== 202)
    throw new Error(`blob upload to ${host}/${repository} refused: HTTP ${start.status} ${start.text}`);
  const url = new URL(String(start.headers.location), `http://${host}`);
  url.searchParams.set('digest', blob.digest);
  const put = await request('PUT', url, blob.data, { 'Content-Type': 'application/octet-stream' });
  if (put.status !== 201) throw new Error(`blob ${blob.digest} upload failed: HTTP ${put.status} ${put.text}`);
}

/** Push an image or index (with its children) as `repository:tag` over plain HTTP. */
export async function pushImage(
  host: string,
  repository: string,
  tag: string,
  image: BuiltImage & { children?: BuiltImage[] },
): Promise<void> {
  for (const child of image.children ?? []) await pushImage(host, repository, child.manifestDigest, child);
  for (const b of image.blobs) await pushBlob(host, repository, b);
  const res = await request('PUT', new URL(`http://${host}/v2/${repository}/manifests/${tag}`), image.manifest, {
    'Content-Type': image.mediaType,
  });
  if (res.status !== 201)
    throw new Error(`manifest push to ${host}/${repository}:${tag} failed: HTTP ${res.status} ${res.text}`);
}

/** mmdebstrap's tree of dnf + rpm, cached outside the clone. */
export const bootstrapCacheDir = '/var/cache/isomock/bootstrap';

const aptSources = '/etc/apt/sources.list.d/debian.sources';
const mmdebstrapArgs = [
  '--variant=essential',
  '--include=dnf,dnf-plugins-core,python3-dnf,rpm,ca-certificates',
  '--dpkgopt=path-exclude=/usr/share/doc/*',
  '--dpkgopt=path-exclude=/usr/share/man/*',
  '--dpkgopt=path-exclude=/usr/share/locale/*',
  // Debian's rpm keeps its database under ~/.rpmdb; Mock's bootstrap reads /var/lib/rpm.
  '--customize-hook=mkdir -p "$1/etc/rpm" && echo "%_dbpath /var/lib/rpm" > "$1/etc/rpm/macros.dbpath"',
  // Debian enables dnf's local plugin, whose repo fails without gpg keys.
  '--customize-hook=sed -i "s/^enabled.*/enabled = 0/" "$1/etc/dnf/plugins/local.conf"',
  '--customize-hook=rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*',
  // No device nodes: the bootstrap's /dev is bind-mounted at run time.
  '--skip=output/dev',
  '--format=tar',
];

/**
 * The dnf bootstrap as a gzip layer file (and its diff_id), built once per
 * machine and kept in the cache keyed by the build inputs.
 */
export async function dnfBootstrapLayer(): Promise<{ file: string; digest: string; size: number; diffId: string }> {
  const key = createHash('sha256')
    .update(JSON.stringify(mmdebstrapArgs))
    .update(readFileSync(aptSources))
    .digest('hex')
    .slice(0, 16);
  const base = join(bootstrapCacheDir, key);
  const layer = `${base}.tar.gz`;
  const meta = `${base}.json`;
  if (!existsSync(meta)) {
    mkdirSync(bootstrapCacheDir, { recursive: true });
    const rawTar = `${base}.tar`;
    execFileSync('mmdebstrap', [...mmdebstrapArgs, 'bookworm', `${rawTar}.part`, aptSources], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    await pipeline(createReadStream(`${rawTar}.part`), createGzip({ level: 1 }), createWriteStream(`${layer}.part`));
    const digest = `sha256:${await sha256OfFile(`${layer}.part`)}`;
    const diffId = `sha256:${await sha256OfFile(`${rawTar}.part`)}`;
    renameSync(`${layer}.part`, layer);
    rmSync(`${rawTar}.part`, { force: true });
    writeFileSync(meta, JSON.stringify({ digest, diffId, size: statSync(layer).size }));
  }
  const m = JSON.parse(readFileSync(meta, 'utf8')) as { digest: string; diffId: string; size: number };
  return { file: layer, ...m };
}

/** Push the dnf bootstrap as `world/bootstrap:1` (the reference Mock configs in the world use). */
export async function pushDnfBootstrap(host: string): Promise<BuiltImage> {
  const l = await dnfBootstrapLayer();
  const image = buildImage({
    architecture: 'amd64',
    config: { Cmd: ['/bin/bash'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    layers: [
      { blob: { digest: l.digest, size: l.size, data: { file: l.file } }, diffId: l.diffId, compression: 'gzip' },
    ],
  });
  await pushImage(host, 'world/bootstrap', '1', image);
  return image;
}

/** The packages rpm needs, closed over Requires among the world's buildsys packages (rpm itself is the judge when installing). */
function rpmClosure(world: WorldInfo, roots: string[]): string[] {
  const candidates = world.manifest.packages.filter((p) => p.repo === 'base' && p.buildsys);
  const out = execFileSync(
    'rpm',
    [
      '-qp',
      '--nosignature',
      '--qf',
      '[%{=NAME}\tP\t%{PROVIDES}\n][%{=NAME}\tP\t%{FILENAMES}\n][%{=NAME}\tR\t%{REQUIRES}\n]',
      ...candidates.map((p) => join(world.dir, p.file)),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const providers = new Map<string, string>();
  const requires = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const [name, kind, value] = line.split('\t');
    if (!name || !value) continue;
    if (kind === 'P') providers.set(value, providers.get(value) ?? name);
    else requires.set(name, [...(requires.get(name) ?? []), value]);
  }
  const chosen = new Set<string>();
  const todo = [...roots];
  for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
    if (chosen.has(name)) continue;
    chosen.add(name);
    for (const cap of requires.get(name) ?? []) {
      if (cap.startsWith('rpmlib(')) continue;
      const provider = providers.get(cap);
      if (!provider) throw new Error(`world bootstrap: nothing in the world provides '${cap}' (needed by ${name})`);
      todo.push(provider);
    }
  }
  return candidates.filter((p) => chosen.has(p.name)).map((p) => join(world.dir, p.file));
}

/** What issue 4 names for the small bootstrap; Requires bring in the rest. */
const rpmBootstrapRoots = ['filesystem', 'setup', 'glibc', 'base-libs', 'bash', 'coreutils', 'rpm'];

/**
 * Push the rpm-only bootstrap as `world/bootstrap-rpm:1`: the world's rpm and
 * its dependencies installed with the host's `rpm --root` into an empty root
 * under `workDir` (database at the world's dbpath), packed as one gzip layer.
 */
export async function pushRpmBootstrap(host: string, workDir: string): Promise<BuiltImage> {
  const world = await ensureWorld();
  const root = join(workDir, 'rpm-bootstrap-root');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  try {
    execFileSync(
      'rpm',
      [
        '--root',
        root,
        '--dbpath',
        world.manifest.dbpath,
        '-i',
        '--nosignature',
        ...rpmClosure(world, rpmBootstrapRoots),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const image = buildImage({
      architecture: 'amd64',
      config: { Cmd: ['/bin/bash'], Env: ['PATH=/usr/sbin:/usr/bin'] },
      layers: [layerFromDir(root)],
    });
    await pushImage(host, 'world/bootstrap-rpm', '1', image);
    return image;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
