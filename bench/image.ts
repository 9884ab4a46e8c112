/**
 * Pull + unpack of the world's dnf bootstrap image from a loopback registry:
 * isomock versus the floor of `skopeo copy` to a dir: layout followed by
 * GNU tar unpacking the layers. Each unpack goes to a fresh directory, on
 * disk and on tmpfs (/dev/shm): on disk the kernel's inode allocation
 * dominates both tools (on a journal-less ext4 it slows sharply for ~30 s
 * after many deletions), so nothing is deleted until every round has run,
 * and tmpfs shows the tools' own cost. Rounds alternate isomock and tar;
 * the best round of each is reported, with the load average around them.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { getImage, imageContext } from '../src/image/source.js';
import { unpackImage } from '../src/image/unpack.js';
import { pushDnfBootstrap } from '../world/images.js';
import { startRegistry } from '../test/helpers/registry.js';

const benchPort = 5099;
const rounds = 3;

function since(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function timed(fn: () => unknown): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return since(t);
}

const round2 = (n: number) => Number(n.toFixed(2));

export async function run(): Promise<Record<string, unknown>> {
  const work = `/tmp/iso-unpack/bench-${process.pid}`;
  const shm = `/dev/shm/iso-unpack-bench-${process.pid}`;
  for (const d of [work, shm]) {
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
  }
  const registry = await startRegistry(benchPort);
  try {
    const image = await pushDnfBootstrap(registry.host);
    const ref = `${registry.host}/world/bootstrap:1`;
    const ctx = imageContext({
      arch: 'x86_64',
      storeDir: join(work, 'store'),
      registriesConf: registry.registriesConf,
      authFile: join(work, 'no-auth.json'),
    });
    let pulled: Awaited<ReturnType<typeof getImage>> | undefined;
    const isomockPull = await timed(async () => (pulled = await getImage(ctx, ref, true)));
    const skopeoDir = join(work, 'skopeo-dir');
    const skopeoPull = await timed(() =>
      execFileSync('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `dir:${skopeoDir}`]),
    );
    const layers = (
      JSON.parse(readFileSync(join(skopeoDir, 'manifest.json'), 'utf8')) as { layers: { digest: string }[] }
    ).layers;

    const loadBefore = loadavg();
    const times = {
      isomockDisk: [] as number[],
      tarDisk: [] as number[],
      isomockTmpfs: [] as number[],
      tarTmpfs: [] as number[],
    };
    for (let r = 0; r < rounds; r++) {
      for (const [base, isomockKey, tarKey] of [
        [work, 'isomockDisk', 'tarDisk'],
        [shm, 'isomockTmpfs', 'tarTmpfs'],
      ] as const) {
        const mine = join(base, `isomock-${r}`);
        const theirs = join(base, `tar-${r}`);
        mkdirSync(mine);
        mkdirSync(theirs);
        times[isomockKey].push(await timed(() => unpackImage(ctx.store, pulled!, mine)));
        times[tarKey].push(
          await timed(() => {
            for (const l of layers)
              execFileSync('tar', [
                '-xzf',
                join(skopeoDir, l.digest.slice(7)),
                '-C',
                theirs,
                '--numeric-owner',
                '--same-permissions',
              ]);
          }),
        );
      }
    }
    const best = (k: keyof typeof times) => round2(Math.min(...times[k]));
    return {
      name: 'image-pull-unpack',
      layerMB: round2(image.blobs.slice(1).reduce((n, b) => n + b.size, 0) / 2 ** 20),
      loadAverage: { before: round2(loadBefore[0]!), after: round2(loadavg()[0]!) },
      isomock: {
        pullSeconds: round2(isomockPull),
        unpackSeconds: best('isomockDisk'),
        unpackTmpfsSeconds: best('isomockTmpfs'),
        totalSeconds: round2(isomockPull + best('isomockDisk')),
      },
      skopeoAndTar: {
        pullSeconds: round2(skopeoPull),
        unpackSeconds: best('tarDisk'),
        unpackTmpfsSeconds: best('tarTmpfs'),
        totalSeconds: round2(skopeoPull + best('tarDisk')),
      },
      rounds: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.map(round2)])),
    };
  } finally {
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
    rmSync(shm, { recursive: true, force: true });
  }
}
