/**
 * `isomock isolated-repo`, image part: the lockfile's bootstrap image saved
 * by pull_digest, for the lockfile's architecture, in the `dir:` layout Mock
 * >= 6.7 reads and as bootstrap.tar, checked with skopeo as the oracle; a
 * second run needs no registry; a non-root user needs no image store.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { freePort } from './helpers/ports.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isolatedRepo } from '../src/commands/isolated-repo.js';
import { IsomockError } from '../src/errors.js';
import { buildImage, buildIndex, layerFromDir, pushImage, type BuiltImage } from '../world/images.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { serveWorld, type ServedWorld } from './helpers/world.js';
import { lockfileOf, scratch, worldRpms, writeLockfile, type WorldRpm } from './helpers/isolated-repo.js';

const bin = fileURLToPath(new URL('../../bin/isomock-isolated-repo', import.meta.url));
const work = join(scratch, `image-${process.pid}`);
let registry: TestRegistry;
let served: ServedWorld;
let sed: WorldRpm;
const images: Record<'amd64' | 'arm64', BuiltImage> = {} as Record<'amd64' | 'arm64', BuiltImage>;
let index: BuiltImage;
let counter = 0;
let registryStopped = false;
let first: { out: string; lockfile: string; layout: string };

function lockfileWith(
  image: BuiltImage,
  architecture: string,
  pullDigest = image.manifestDigest,
): { out: string; lockfile: string } {
  const dir = join(work, `case-${++counter}`);
  mkdirSync(dir, { recursive: true });
  const lock = lockfileOf([sed.locked], {
    image: `${registry.host}/world/bootstrap:1`,
    section: {
      architecture,
      id: (image.blobs[0] ?? images.amd64.blobs[0]!).digest.slice(7),
      image_digest: '0'.repeat(64),
      pull_digest: pullDigest,
    },
  });
  return { out: join(dir, 'repo'), lockfile: writeLockfile(dir, 'buildroot_lock.json', lock) };
}

const skopeoDigest = (transport: string): string =>
  (JSON.parse(execFileSync('skopeo', ['inspect', transport], { encoding: 'utf8' })) as { Digest: string }).Digest;

before(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  served = await serveWorld();
  sed = (await worldRpms(served)).find((r) => r.locked.name === 'sed')!;
  registry = await startRegistry(await freePort());
  for (const arch of ['amd64', 'arm64'] as const) {
    const root = join(work, `layer-${arch}`);
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc', 'os-release'), `ID=world\nARCH=${arch}\n`);
    images[arch] = buildImage({ layers: [layerFromDir(root)], architecture: arch });
  }
  index = buildIndex([images.amd64, images.arm64]);
  await pushImage(registry.host, 'world/bootstrap', '1', index);
  process.env.ISOMOCK_IMAGE_STORE = join(work, 'store');
});

after(async () => {
  if (!registryStopped) await registry?.stop();
  await served?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('isolated-repo: the bootstrap image', () => {
  it('saves the dir: layout Mock 6.7 reads, and bootstrap.tar', async () => {
    const { out, lockfile } = lockfileWith(images.amd64, 'amd64');
    const result = await isolatedRepo({ lockfile, outputRepo: out, bootstrapTar: true });
    const layout = join(out, registry.host, `world/bootstrap@${images.amd64.manifestDigest}`);
    assert.deepEqual(result.image, { dir: layout, reused: false, archive: join(out, 'bootstrap.tar') });
    assert.deepEqual(
      readdirSync(layout).sort(),
      [...images.amd64.blobs.map((b) => b.digest.slice(7)), 'manifest.json', 'version'].sort(),
    );
    assert.equal(skopeoDigest(`dir:${layout}`), images.amd64.manifestDigest);
    assert.equal(skopeoDigest(`oci-archive:${join(out, 'bootstrap.tar')}`), images.amd64.manifestDigest);
    assert.deepEqual(
      readdirSync(out).filter((f) => f.startsWith('.isomock-image')),
      [],
      'no temporary image directory left',
    );

    first = { out, lockfile, layout };
  });

  it('links the layout blobs from the store: a second repository copies none of them', async () => {
    const { out, lockfile } = lockfileWith(images.amd64, 'amd64');
    const result = await isolatedRepo({ lockfile, outputRepo: out });
    assert.equal(result.image?.reused, false);
    const layout: string = result.image!.dir;
    for (const blob of images.amd64.blobs) {
      const placed = statSync(join(layout, blob.digest.slice(7)));
      const entry = statSync(join(process.env.ISOMOCK_IMAGE_STORE!, 'sha256', blob.digest.slice(7)));
      assert.equal(placed.ino, entry.ino, `${blob.digest} is the store's entry, hard-linked`);
      assert.equal(placed.mode & 0o7777, 0o444);
    }
  });

  it("fetches the lockfile architecture's image from a multi-arch index, whatever the host", async () => {
    const { out, lockfile } = lockfileWith(images.arm64, 'arm64');
    const result = await isolatedRepo({ lockfile, outputRepo: out });
    assert.equal(skopeoDigest(`dir:${result.image!.dir}`), images.arm64.manifestDigest);
    assert.match(readFileSync(join(result.image!.dir, 'manifest.json'), 'utf8'), /layers/);
  });

  it('refuses a pull_digest naming a multi-arch index, after the RPMs are in place', async () => {
    const { out, lockfile } = lockfileWith(index, 'amd64');
    let caught: unknown;
    await isolatedRepo({ lockfile, outputRepo: out }).catch((err) => (caught = err));
    assert.ok(caught instanceof IsomockError);
    assert.match(caught.message, /is a multi-arch index; its amd64 image is sha256:/);
    assert.ok(existsSync(join(out, sed.file)) && existsSync(join(out, 'repodata', 'repomd.xml')));
    assert.ok(!readdirSync(out).some((f) => f.startsWith('.isomock-image')));
  });

  it('works as an unprivileged user, with a temporary image store inside the repository', async () => {
    const { out, lockfile } = lockfileWith(images.amd64, 'amd64');
    chownSync(join(out, '..'), 65534, 65534);
    // A login session's runtime dir (isomock's image code reads /run/containers/UID otherwise, which only root may).
    const runtime = join(out, '..', 'run');
    mkdirSync(runtime);
    chownSync(runtime, 65534, 65534);
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: runtime };
    delete env.ISOMOCK_IMAGE_STORE;
    // Asynchronous: this process serves the world the command downloads from.
    const { stderr } = await promisify(execFile)(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        bin,
        '--lockfile',
        lockfile,
        '--output-repo',
        out,
      ],
      { env },
    );
    assert.match(stderr, /bootstrap image saved to .*world\/bootstrap@sha256:/);
    assert.equal(
      skopeoDigest(`dir:${join(out, registry.host, `world/bootstrap@${images.amd64.manifestDigest}`)}`),
      images.amd64.manifestDigest,
    );
    assert.deepEqual(
      readdirSync(out).filter((f) => f.startsWith('.') && f !== '.isomock-state.json'),
      [],
    );
  });

  it('a second run over the complete repository needs no registry (run last: it stops the registry)', async () => {
    await registry.stop();
    registryStopped = true;
    const again = await isolatedRepo({ lockfile: first.lockfile, outputRepo: first.out });
    assert.deepEqual(again.image, { dir: first.layout, reused: true });
    assert.deepEqual([again.downloaded, again.repodataWritten], [0, false]);
  });
});
