/**
 * The world's dnf + rpm bootstrap image on the port-80 registry, referenced
 * as Mock references it (`127.0.0.1/world/bootstrap:1`, no port): isomock's
 * lockfile metadata equals podman's, and the unpacked tree is podman's.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { imageMetadata } from '../src/image/inspect.js';
import { getImage, imageContext } from '../src/image/source.js';
import { unpackImage } from '../src/image/unpack.js';
import { pushDnfBootstrap } from '../world/images.js';
import { podmanPull, podmanRemove, podmanTree, scratchRoot, startRegistry, tree, treeDifferences, type TestRegistry } from './helpers/registry.js';

const work = join(scratchRoot, `bootstrap-test-${process.pid}`);
const ref = '127.0.0.1/world/bootstrap:1';
let registry: TestRegistry;

before(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  registry = await startRegistry(80);
  await pushDnfBootstrap(registry.host);
});

after(async () => {
  podmanRemove(ref);
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('dnf bootstrap on port 80: podman metadata and tree, dnf and rpm present', async () => {
  const ctx = imageContext({ arch: 'x86_64', storeDir: join(work, 'store'), registriesConf: registry.registriesConf, authFile: join(work, 'no-auth.json') });
  const image = await getImage(ctx, ref, true);
  const meta = imageMetadata(image);
  const podman = podmanPull(ref);
  assert.deepEqual(meta, { pull_digest: podman.Digest, id: podman.Id, architecture: podman.Architecture, image_digest: podman.image_digest });

  const target = join(work, 'root');
  mkdirSync(target);
  await unpackImage(ctx.store, image, target);
  const got = tree(target);
  assert.deepEqual(treeDifferences(got, podmanTree(ref)), []);
  assert.ok(got.has('usr/bin/dnf') && got.has('usr/bin/rpm'));
  assert.match(readFileSync(join(target, 'etc/rpm/macros.dbpath'), 'utf8'), /%_dbpath \/var\/lib\/rpm/);
});
