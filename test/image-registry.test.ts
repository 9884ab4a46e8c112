/**
 * isomock against a real registry, with skopeo and podman as oracles: the
 * same digests and image_digest, the same tree as `podman image mount`,
 * layouts skopeo reads and writes, and clear errors on bad inputs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { join } from 'node:path';
import { IsomockError } from '../src/errors.js';
import { imageMetadata } from '../src/image/inspect.js';
import { loadDir, loadOciArchive, saveDir, saveOciArchive } from '../src/image/layouts.js';
import { getImage, imageContext, type ImageContext } from '../src/image/source.js';
import { BlobStore } from '../src/image/store.js';
import { unpackImage, unpackLayers } from '../src/image/unpack.js';
import { isLoopback } from '../src/image/registry-client.js';
import { repoRoot } from './helpers/paths.js';
import {
  buildImage,
  buildIndex,
  craftedTar,
  layerFromDir,
  layerFromTar,
  pushImage,
  type BuiltImage,
} from '../world/images.js';
import {
  podmanPull,
  podmanRemove,
  podmanTree,
  run,
  scratchRoot,
  startRegistry,
  tree,
  treeDifferences,
  type TestRegistry,
} from './helpers/registry.js';

const work = join(scratchRoot, `registry-test-${process.pid}`);
let registry: TestRegistry;
let ctx: ImageContext;
const podmanImages: string[] = [];

const images: Record<string, BuiltImage> = {};

before(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  registry = await startRegistry(5000 + (process.pid % 50));
  ctx = imageContext({
    arch: 'x86_64',
    storeDir: join(work, 'store'),
    registriesConf: registry.registriesConf,
    authFile: join(work, 'no-auth.json'),
  });

  const l1 = join(work, 'l1');
  mkdirSync(join(l1, 'usr/bin'), { recursive: true });
  mkdirSync(join(l1, 'opq/sub'), { recursive: true });
  mkdirSync(join(l1, 'home/user'), { recursive: true });
  writeFileSync(join(l1, 'usr/bin/tool'), '#!/bin/sh\necho tool\n');
  chmodSync(join(l1, 'usr/bin/tool'), 0o4755);
  linkSync(join(l1, 'usr/bin/tool'), join(l1, 'usr/bin/tool-link'));
  symlinkSync('tool', join(l1, 'usr/bin/alias'));
  symlinkSync('/usr/bin/tool', join(l1, 'abs-link'));
  writeFileSync(join(l1, 'home/user/file'), 'owned by 1000\n');
  chownSync(join(l1, 'home/user/file'), 1000, 1001);
  chownSync(join(l1, 'home/user'), 1000, 1001);
  writeFileSync(join(l1, 'removed'), 'gone in layer 2\n');
  writeFileSync(join(l1, 'opq/old'), 'hidden by the opaque marker\n');
  writeFileSync(join(l1, 'opq/sub/x'), 'also hidden\n');
  const l2 = join(work, 'l2');
  mkdirSync(join(l2, 'opq'), { recursive: true });
  writeFileSync(join(l2, '.wh.removed'), '');
  writeFileSync(join(l2, 'opq/.wh..wh..opq'), '');
  writeFileSync(join(l2, 'opq/new'), 'written by layer 2\n');
  const base = [layerFromDir(l1, 'gzip'), layerFromDir(l2, 'zstd')];
  // Docker's schema 2 has no zstd layer type.
  const dockerBase = [base[0]!, layerFromDir(l2, 'gzip')];
  const config = {
    Cmd: ['/bin/sh'],
    Env: ['PATH=/usr/bin', 'LANG=C.UTF-8'],
    Labels: { 'org.example.title': 'Größe – ünïcode ✓' },
    ExposedPorts: { '8080/tcp': {} },
    Hostname: '',
    WorkingDir: '/home/user',
  };
  images.oci = buildImage({ layers: base, architecture: 'amd64', config });
  images.docker = buildImage({
    layers: dockerBase,
    architecture: 'amd64',
    config: { ...config, Entrypoint: ['/usr/bin/tool'] },
    format: 'docker',
  });
  const arm = buildImage({ layers: [layerFromDir(l2)], architecture: 'arm64' });
  images.multi = buildIndex([images.oci, arm]);
  images.armonly = buildIndex([arm]);
  images.escape = buildImage({
    layers: [
      layerFromTar(
        craftedTar([
          { path: 'ok', data: 'fine' },
          { path: '../escaped', data: 'bad' },
        ]),
      ),
    ],
    architecture: 'amd64',
  });
  for (const [name, img] of Object.entries(images)) await pushImage(registry.host, `test/${name}`, '1', img);
});

after(async () => {
  for (const ref of podmanImages) podmanRemove(ref);
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

for (const name of ['oci', 'docker', 'multi']) {
  test(`${name} image: same digests as skopeo and podman, same image_digest as Mock's formula`, async () => {
    const ref = `${registry.host}/test/${name}:1`;
    const remote = imageMetadata(await getImage(ctx, ref, false));
    const skopeo = JSON.parse(run('skopeo', ['inspect', '--override-arch', 'amd64', `docker://${ref}`])) as {
      Digest: string;
      Architecture: string;
    };
    const skopeoConfig = run('skopeo', ['inspect', '--override-arch', 'amd64', '--raw', `docker://${ref}`]);
    const podman = podmanPull(ref);
    podmanImages.push(ref);
    assert.equal(remote.pull_digest, podman.Digest);
    assert.equal(remote.id, podman.Id);
    assert.equal(remote.architecture, podman.Architecture);
    assert.equal(remote.image_digest, podman.image_digest);
    assert.equal(remote.architecture, skopeo.Architecture);
    if (name !== 'multi') assert.equal(remote.pull_digest, skopeo.Digest, skopeoConfig);
  });
}

test('pull, unpack: the tree podman mounts; a second pull downloads nothing', async () => {
  const ref = `${registry.host}/test/oci:1`;
  const image = await getImage(ctx, ref, true);
  const layerFile = ctx.store.path(image.manifest.layers[0]!.digest);
  const inode = statSync(layerFile).ino;
  await getImage(ctx, ref, true);
  assert.equal(statSync(layerFile).ino, inode, 'the layer was downloaded again');
  const target = join(work, 'unpacked');
  mkdirSync(target);
  await unpackImage(ctx.store, image, target);
  podmanPull(ref);
  podmanImages.push(ref);
  assert.deepEqual(treeDifferences(tree(target), podmanTree(ref)), []);
  assert.equal(statSync(join(target, 'usr/bin/tool')).ino, statSync(join(target, 'usr/bin/tool-link')).ino);
  assert.equal(statSync(join(target, 'usr/bin/tool')).mode & 0o7777, 0o4755);
  assert.ok(!existsSync(join(target, 'removed')) && !existsSync(join(target, 'opq/old')));
});

test('dir: layout and OCI archive: skopeo reads what isomock writes, isomock reads what skopeo writes', async () => {
  const ref = `${registry.host}/test/docker:1`;
  const image = await getImage(ctx, ref, true);
  const repo = join(work, 'offline');
  const dir = await saveDir(ctx.store, image, repo, true);
  assert.equal(dir, join(repo, '127.0.0.1:' + registry.port, 'test', `docker@${image.manifestDigest}`));
  assert.equal(readFileSync(join(dir, 'version'), 'utf8'), 'Directory Transport Version: 1.1\n');
  assert.equal(JSON.parse(run('skopeo', ['inspect', `dir:${dir}`])).Digest, image.manifestDigest);
  run('skopeo', ['copy', '-q', `dir:${dir}`, `oci:${join(work, 'oci-from-dir')}:x`]);
  const archive = join(work, 'bootstrap.tar');
  await saveOciArchive(ctx.store, image, archive);
  assert.equal(JSON.parse(run('skopeo', ['inspect', `oci-archive:${archive}`])).Digest, image.manifestDigest);

  const other = imageContext({
    arch: 'x86_64',
    storeDir: join(work, 'store2'),
    registriesConf: registry.registriesConf,
    authFile: join(work, 'no-auth.json'),
  });
  assert.equal((await loadDir(other.store, dir)).configDigest, image.configDigest);
  assert.equal((await loadOciArchive(other.store, archive, other.platform)).manifestDigest, image.manifestDigest);
  const synced = join(work, 'synced');
  run('skopeo', [
    'sync',
    '--scoped',
    '--preserve-digests',
    '--src',
    'docker',
    '--dest',
    'dir',
    '--src-tls-verify=false',
    ref,
    synced,
  ]);
  const skopeoDir = join(synced, `127.0.0.1:${registry.port}`, 'test', 'docker:1');
  const fromSkopeo = await loadDir(other.store, skopeoDir);
  assert.equal(fromSkopeo.manifestDigest, image.manifestDigest);
  const skopeoArchive = join(work, 'skopeo.tar');
  run('skopeo', [
    'copy',
    '-q',
    '--preserve-digests',
    '--src-tls-verify=false',
    `docker://${ref}`,
    `oci-archive:${skopeoArchive}`,
  ]);
  assert.equal((await loadOciArchive(other.store, skopeoArchive, other.platform)).configDigest, image.configDigest);
  // A tampered blob in a saved layout is refused.
  const layer = join(dir, image.manifest.layers[0]!.digest.slice(7));
  rmSync(layer);
  writeFileSync(layer, 'tampered');
  rmSync(join(work, 'store3'), { recursive: true, force: true });
  await assert.rejects(loadDir(new BlobStore(join(work, 'store3')), dir), /truncated|does not match|more data/);
});

test('bad inputs: wrong arch, corrupt and truncated blobs, path escape; nothing half-written', async () => {
  await assert.rejects(
    getImage(ctx, `${registry.host}/test/armonly:1`, true),
    (err: Error) =>
      err instanceof IsomockError &&
      /no image for linux\/amd64 in the index \(it offers linux\/arm64\)/.test(err.message),
  );
  const escape = await getImage(ctx, `${registry.host}/test/escape:1`, true);
  const target = join(work, 'escape');
  mkdirSync(target);
  await assert.rejects(unpackImage(ctx.store, escape, target), /entry '\.\.\/escaped' escapes the target directory/);
  assert.ok(!existsSync(join(work, 'escaped')));
  const through = join(work, 'through');
  mkdirSync(through);
  const symlinkWrite = craftedTar([
    { path: 'link', type: 'SymbolicLink', linkpath: '/tmp' },
    { path: 'link/evil', data: 'x' },
  ]);
  writeFileSync(join(work, 'symlink.tar'), symlinkWrite);
  await assert.rejects(
    unpackLayers(through, [{ file: join(work, 'symlink.tar'), name: 'crafted' }]),
    /entry 'link\/evil' would be written through the symlink 'link'/,
  );
  const hard = craftedTar([{ path: 'h', type: 'Link', linkpath: '../../etc/passwd' }]);
  writeFileSync(join(work, 'hard.tar'), hard);
  await assert.rejects(
    unpackLayers(through, [{ file: join(work, 'hard.tar'), name: 'crafted' }]),
    /escapes the target/,
  );

  // Corrupt the registry's own copy of a layer: same length, other bytes; then cut it short.
  const img = images.docker!;
  const layerDigest = img.blobs[1]!.digest.slice(7);
  const stored = join(
    scratchRoot,
    `registry-${registry.port}-${process.pid}`,
    'data/docker/registry/v2/blobs/sha256',
    layerDigest.slice(0, 2),
    layerDigest,
    'data',
  );
  const original = readFileSync(stored);
  const fresh = () =>
    imageContext({
      arch: 'x86_64',
      storeDir: join(work, `store-bad-${Math.random()}`),
      registriesConf: registry.registriesConf,
      authFile: join(work, 'no-auth.json'),
    });
  const corrupt = Buffer.from(original);
  corrupt[corrupt.length - 1] ^= 0xff;
  writeFileSync(stored, corrupt);
  const c1 = fresh();
  await assert.rejects(getImage(c1, `${registry.host}/test/docker:1`, true), /does not match its digest/);
  assert.deepEqual(readdirSync(join(c1.store.root, 'tmp')), []);
  assert.ok(!c1.store.has(img.blobs[1]!.digest));
  truncateSync(stored, original.length - 10);
  const c2 = fresh();
  await assert.rejects(getImage(c2, `${registry.host}/test/docker:1`, true), /truncated/);
  assert.deepEqual(readdirSync(join(c2.store.root, 'tmp')), []);
  writeFileSync(stored, original);
});

test('CLI: image inspect --json, pull, save in both formats', () => {
  const env = {
    ...process.env,
    CONTAINERS_REGISTRIES_CONF: registry.registriesConf,
    ISOMOCK_IMAGE_STORE: join(work, 'cli-store'),
    REGISTRY_AUTH_FILE: join(work, 'no-auth.json'),
  };
  const isomock = (...args: string[]) =>
    execFileSync(join(repoRoot, 'bin', 'isomock'), args, { encoding: 'utf8', env, stdio: 'pipe' });
  const ref = `${registry.host}/test/multi:1`;
  const meta = JSON.parse(isomock('image', 'inspect', ref, '--json')) as Record<string, string>;
  const podman = podmanPull(ref);
  podmanImages.push(ref);
  assert.deepEqual(
    [meta.pull_digest, meta.id, meta.architecture, meta.image_digest],
    [podman.Digest, podman.Id, podman.Architecture, podman.image_digest],
  );
  assert.ok(
    !existsSync(join(work, 'cli-store', 'sha256', images.oci!.blobs[1]!.digest.slice(7))),
    'inspect downloaded a layer',
  );
  assert.equal(isomock('image', 'pull', ref).trim(), podman.Digest);
  const out = join(work, 'cli-save');
  assert.equal(
    isomock('image', 'save', ref, out).trim(),
    join(out, `127.0.0.1:${registry.port}`, 'test', `multi@${podman.Digest}`),
  );
  assert.equal(isomock('image', 'save', ref, out, '--format', 'oci-archive').trim(), join(out, 'bootstrap.tar'));
  assert.equal(
    JSON.parse(isomock('image', 'inspect', `oci-archive:${join(out, 'bootstrap.tar')}`, '--json')).image_digest,
    podman.image_digest,
  );
  assert.throws(
    () => isomock('image', 'pull', `${registry.host}/test/armonly:1`),
    (err: { status: number; stderr: string }) =>
      err.status === 90 && /^isomock: error: .*no image for linux\/amd64 in the index/.test(err.stderr),
  );
});

test('a loopback registry speaks plain HTTP without a registries.conf entry, as Docker allows', () => {
  const conf = join(work, 'empty-registries.conf');
  writeFileSync(conf, '');
  const env = {
    ...process.env,
    CONTAINERS_REGISTRIES_CONF: conf,
    ISOMOCK_IMAGE_STORE: join(work, 'plain-store'),
    REGISTRY_AUTH_FILE: join(work, 'no-auth.json'),
  };
  const out = execFileSync(
    join(repoRoot, 'bin', 'isomock'),
    ['image', 'inspect', `${registry.host}/test/multi:1`, '--json'],
    { encoding: 'utf8', env, stdio: 'pipe' },
  );
  assert.match(JSON.parse(out).pull_digest, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(['127.0.0.1', '127.0.0.1:5000', 'localhost:80', '[::1]:5000'].map(isLoopback), [
    true,
    true,
    true,
    true,
  ]);
  assert.deepEqual(['127.0.0.1.example.com', 'registry.fedoraproject.org', '10.0.0.1:5000'].map(isLoopback), [
    false,
    false,
    false,
  ]);
});
