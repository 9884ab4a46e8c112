/**
 * Pull + unpack of the world's dnf bootstrap image from a loopback registry:
 * isomock versus `skopeo copy` to a dir: layout followed by tar(1) unpacking
 * the layers, each from an empty store / directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { getImage, imageContext } from '../src/image/source.js';
import { unpackImage } from '../src/image/unpack.js';
import { pushDnfBootstrap } from '../world/images.js';
import { startRegistry } from '../test/helpers/registry.js';

const benchPort = 5099;

function seconds(start: bigint): number {
  return Number((Number(process.hrtime.bigint() - start) / 1e9).toFixed(2));
}

export async function run(): Promise<Record<string, unknown>> {
  const work = `/tmp/iso-image/bench-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const registry = await startRegistry(benchPort);
  try {
    const image = await pushDnfBootstrap(registry.host);
    const ref = `${registry.host}/world/bootstrap:1`;

    let t = process.hrtime.bigint();
    const ctx = imageContext({ arch: 'x86_64', storeDir: join(work, 'store'), registriesConf: registry.registriesConf, authFile: join(work, 'no-auth.json') });
    const pulled = await getImage(ctx, ref, true);
    const isomockPull = seconds(t);
    t = process.hrtime.bigint();
    mkdirSync(join(work, 'isomock-root'));
    await unpackImage(ctx.store, pulled, join(work, 'isomock-root'));
    const isomockUnpack = seconds(t);

    t = process.hrtime.bigint();
    execFileSync('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `dir:${join(work, 'skopeo-dir')}`]);
    const skopeoPull = seconds(t);
    t = process.hrtime.bigint();
    mkdirSync(join(work, 'tar-root'));
    const manifest = JSON.parse(readFileSync(join(work, 'skopeo-dir', 'manifest.json'), 'utf8')) as { layers: { digest: string }[] };
    for (const l of manifest.layers) execFileSync('tar', ['-xzf', join(work, 'skopeo-dir', l.digest.slice(7)), '-C', join(work, 'tar-root'), '--numeric-owner']);
    const tarUnpack = seconds(t);

    return {
      name: 'image-pull-unpack',
      layerMB: Number((image.blobs.slice(1).reduce((n, b) => n + b.size, 0) / 2 ** 20).toFixed(1)),
      isomock: { pullSeconds: isomockPull, unpackSeconds: isomockUnpack, totalSeconds: Number((isomockPull + isomockUnpack).toFixed(2)) },
      skopeoAndTar: { pullSeconds: skopeoPull, unpackSeconds: tarUnpack, totalSeconds: Number((skopeoPull + tarUnpack).toFixed(2)) },
    };
  } finally {
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
