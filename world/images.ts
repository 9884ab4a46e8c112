/**
 * The world's container images: small hand-made images for the image tests
 * (layers from directories or crafted tar entries, OCI or Docker v2 schema 2
 * manifests, multi-arch indexes, gzip or zstd layers), the dnf + rpm
 * bootstrap image made with mmdebstrap, and the rpm-only bootstrap made from
 * the world's own packages, all pushed to a loopback registry over the
 * distribution API.
 */
import { sha256OfFile } from '../src/lockfile/record.js';
import { execFileSync, spawn } from 'node:child_process';
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
import { acquireLock } from './gen/lock.js';
import type { WorldInfo } from './manifest.js';

interface Blob {
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

/** mmdebstrap's bootstrap trees, cached outside the clone. */
const bootstrapCacheDir = '/var/cache/isomock/bootstrap';

const aptSources = '/etc/apt/sources.list.d/debian.sources';

/** What goes into a bootstrap image made by mmdebstrap: a Debian suite and its packages. */
interface DebianBootstrap {
  suite: string;
  /** mmdebstrap's MIRROR argument: the machine's apt sources file, or a one-line source for another suite on its mirror. */
  mirror: () => string;
  args: string[];
  /** Pushed as `world/<repository>:1`. */
  repository: string;
}

const docsOut = [
  '--dpkgopt=path-exclude=/usr/share/doc/*',
  '--dpkgopt=path-exclude=/usr/share/man/*',
  '--dpkgopt=path-exclude=/usr/share/locale/*',
];
const packOut = [
  '--customize-hook=rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*',
  // No device nodes: the bootstrap's /dev is bind-mounted at run time.
  '--skip=output/dev',
  '--format=tar',
];

/** bookworm's dnf 4.14 and rpm 4.18 (argument order kept: it is the cache key). */
const dnf4Bootstrap: DebianBootstrap = {
  suite: 'bookworm',
  mirror: () => aptSources,
  repository: 'bootstrap',
  args: [
    '--variant=essential',
    '--include=dnf,dnf-plugins-core,python3-dnf,rpm,ca-certificates',
    ...docsOut,
    // Debian's rpm keeps its database under ~/.rpmdb; Mock's bootstrap reads /var/lib/rpm.
    '--customize-hook=mkdir -p "$1/etc/rpm" && echo "%_dbpath /var/lib/rpm" > "$1/etc/rpm/macros.dbpath"',
    // Debian enables dnf's local plugin, whose repo fails without gpg keys.
    '--customize-hook=sed -i "s/^enabled.*/enabled = 0/" "$1/etc/dnf/plugins/local.conf"',
    ...packOut,
  ],
};

/**
 * sid's dnf5 and rpm 6 (current Fedora's stack). sid's Release file on the
 * mirror has an expired Valid-Until, and mmdebstrap does not read the host's
 * apt.conf; its rpm already keeps the database in /var/lib/rpm. The dnf5
 * package carries builddep itself.
 */
const dnf5Bootstrap: DebianBootstrap = {
  suite: 'sid',
  mirror: () => mirrorLine('sid'),
  repository: 'bootstrap-dnf5',
  args: [
    '--variant=essential',
    '--aptopt=Acquire::Check-Valid-Until "false"',
    '--aptopt=Acquire::Check-Date "false"',
    '--include=dnf5,libdnf5-2,libdnf5-cli3,rpm,rpm-common,rpm2cpio,ca-certificates',
    ...docsOut,
    // libdnf5's local plugin, like dnf4's, fails every call without gpg keys.
    '--customize-hook=sed -i "s/^enabled.*/enabled = 0/" "$1/etc/dnf/libdnf5-plugins/local.conf"',
    ...packOut,
  ],
};

/**
 * `deb [signed-by=...] URI SUITE main` on the machine's own Debian mirror (the
 * first stanza of its sources file): no registry host is written anywhere.
 */
function mirrorLine(suite: string): string {
  const stanza = readFileSync(aptSources, 'utf8').split(/\n\s*\n/)[0] ?? '';
  const field = (name: string): string | undefined => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(stanza)?.[1];
  const uri = field('URIs');
  if (!uri) throw new Error(`world: no URIs in the first stanza of ${aptSources}`);
  const signedBy = field('Signed-By');
  return `deb ${signedBy ? `[signed-by=${signedBy}] ` : ''}${uri} ${suite} main`;
}

/** apt's first error line ("E: Unable to locate package ..."), for a one-line failure. */
function aptError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim());
  return lines.find((l) => /^E:/.test(l)) ?? lines.filter(Boolean).at(-1) ?? 'no output';
}

/** Runs mmdebstrap, echoing its progress lines (it takes a minute or more); rejects with apt's error. */
function runMmdebstrap(suite: string, args: string[], progress: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('mmdebstrap', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let partial = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (/^[IE]: /.test(line)) progress(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`world: mmdebstrap of Debian ${suite} failed (exit ${code}): ${aptError(stderr)}`));
    });
  });
}

/**
 * A bootstrap as a gzip layer file (and its diff_id), built once per machine
 * and kept in the cache keyed by the build inputs; concurrent builders of the
 * same key wait on one lock.
 */
async function bootstrapLayer(
  spec: DebianBootstrap,
  progress: (line: string) => void,
): Promise<{ file: string; digest: string; size: number; diffId: string }> {
  // bookworm's key is what it was before the suite was hashed (its cached image stays valid).
  const key = createHash('sha256')
    .update(JSON.stringify(spec.args))
    .update(readFileSync(aptSources))
    .update(spec.suite === 'bookworm' ? '' : spec.suite)
    .digest('hex')
    .slice(0, 16);
  const base = join(bootstrapCacheDir, key);
  const meta = `${base}.json`;
  mkdirSync(bootstrapCacheDir, { recursive: true });
  const lock = await acquireLock(`${base}.lock`);
  try {
    if (!existsSync(meta)) await buildLayer(spec, base, progress);
  } finally {
    await lock.release();
  }
  const m = JSON.parse(readFileSync(meta, 'utf8')) as { digest: string; diffId: string; size: number };
  return { file: `${base}.tar.gz`, ...m };
}

async function buildLayer(spec: DebianBootstrap, base: string, progress: (line: string) => void): Promise<void> {
  const layer = `${base}.tar.gz`;
  const rawTar = `${base}.tar`;
  const started = Date.now();
  progress(`world: building the ${spec.suite} bootstrap image with mmdebstrap (once per machine)`);
  await runMmdebstrap(spec.suite, [...spec.args, spec.suite, `${rawTar}.part`, spec.mirror()], progress);
  await pipeline(createReadStream(`${rawTar}.part`), createGzip({ level: 1 }), createWriteStream(`${layer}.part`));
  const digest = `sha256:${await sha256OfFile(`${layer}.part`)}`;
  const diffId = `sha256:${await sha256OfFile(`${rawTar}.part`)}`;
  renameSync(`${layer}.part`, layer);
  rmSync(`${rawTar}.part`, { force: true });
  writeFileSync(`${base}.json`, JSON.stringify({ digest, diffId, size: statSync(layer).size }));
  progress(`world: ${spec.suite} bootstrap image built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const stderrProgress = (line: string): void => void process.stderr.write(`${line}\n`);

async function pushBootstrap(
  host: string,
  spec: DebianBootstrap,
  progress: (line: string) => void,
): Promise<BuiltImage> {
  const l = await bootstrapLayer(spec, progress);
  const image = buildImage({
    architecture: 'amd64',
    config: { Cmd: ['/bin/bash'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    layers: [
      { blob: { digest: l.digest, size: l.size, data: { file: l.file } }, diffId: l.diffId, compression: 'gzip' },
    ],
  });
  await pushImage(host, `world/${spec.repository}`, '1', image);
  return image;
}

/** Push the dnf bootstrap as `world/bootstrap:1` (the reference Mock configs in the world use). */
export function pushDnfBootstrap(host: string, progress = stderrProgress): Promise<BuiltImage> {
  return pushBootstrap(host, dnf4Bootstrap, progress);
}

/** Push the dnf5 + rpm 6 bootstrap (Debian sid) as `world/bootstrap-dnf5:1`. */
export function pushDnf5Bootstrap(host: string, progress = stderrProgress): Promise<BuiltImage> {
  return pushBootstrap(host, dnf5Bootstrap, progress);
}

/** The dnf5 bootstrap's unpacked-layer tarball path (for tools that run its rpm 6 directly). */
export async function dnf5BootstrapLayer(
  progress = stderrProgress,
): Promise<{ file: string; digest: string; size: number; diffId: string }> {
  return bootstrapLayer(dnf5Bootstrap, progress);
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
