/**
 * The world's bootstrap images on the port-80 registry, referenced as Mock
 * references them (`127.0.0.1/world/bootstrap:1`, no port): for the dnf + rpm
 * image isomock's lockfile metadata equals podman's, and for both images the
 * unpacked tree is podman's; the rpm-only image's rpm runs in a chroot.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { imageMetadata } from '../src/image/inspect.js';
import { getImage, imageContext } from '../src/image/source.js';
import { unpackImage } from '../src/image/unpack.js';
import { pushDnfBootstrap, pushRpmBootstrap } from '../world/images.js';
import {
  podmanPull,
  podmanRemove,
  podmanTree,
  scratchRoot,
  startRegistry,
  tree,
  treeDifferences,
  type TestRegistry,
} from './helpers/registry.js';

const work = join(scratchRoot, `bootstrap-test-${process.pid}`);
const ref = '127.0.0.1/world/bootstrap:1';
const rpmRef = '127.0.0.1/world/bootstrap-rpm:1';
let registry: TestRegistry;

before(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  registry = await startRegistry(80);
  await pushDnfBootstrap(registry.host);
  await pushRpmBootstrap(registry.host, work);
});

after(async () => {
  podmanRemove(ref);
  podmanRemove(rpmRef);
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

function context() {
  return imageContext({
    arch: 'x86_64',
    storeDir: join(work, 'store'),
    registriesConf: registry.registriesConf,
    authFile: join(work, 'no-auth.json'),
  });
}

test('dnf bootstrap on port 80: podman metadata and tree, dnf and rpm present', async () => {
  const ctx = context();
  const image = await getImage(ctx, ref, true);
  const meta = imageMetadata(image);
  const podman = podmanPull(ref);
  assert.deepEqual(meta, {
    pull_digest: podman.Digest,
    id: podman.Id,
    architecture: podman.Architecture,
    image_digest: podman.image_digest,
  });

  const target = join(work, 'root');
  mkdirSync(target);
  await unpackImage(ctx.store, image, target);
  const got = tree(target);
  assert.deepEqual(treeDifferences(got, podmanTree(ref)), []);
  assert.ok(got.has('usr/bin/dnf') && got.has('usr/bin/rpm'));
  assert.match(readFileSync(join(target, 'etc/rpm/macros.dbpath'), 'utf8'), /%_dbpath \/var\/lib\/rpm/);
});

test('rpm-only bootstrap from the world packages: podman tree, its rpm runs in a chroot', async () => {
  const ctx = context();
  const image = await getImage(ctx, rpmRef, true);
  const target = join(work, 'rpm-root');
  mkdirSync(target);
  await unpackImage(ctx.store, image, target);
  podmanPull(rpmRef);
  assert.deepEqual(treeDifferences(tree(target), podmanTree(rpmRef)), []);
  assert.match(execFileSync('chroot', [target, 'rpm', '--version'], { encoding: 'utf8' }), /^RPM version 4\.\d+/);
  const installed = execFileSync('chroot', [target, 'rpm', '-qa', '--qf', '%{NAME}\n'], { encoding: 'utf8' }).split(
    '\n',
  );
  for (const name of ['filesystem', 'setup', 'glibc', 'base-libs', 'bash', 'coreutils', 'rpm'])
    assert.ok(installed.includes(name), `${name} is not in the image's rpm database`);
});
