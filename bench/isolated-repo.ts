/**
 * `isomock isolated-repo` on every binary RPM of the world, served on
 * loopback: the cold run (download, verify, createrepo_c), the no-op second
 * run, and a plain parallel download of the same files (curl --parallel,
 * same concurrency, no verification, no metadata) as the floor. Each is a
 * separate process, timed from spawn to exit (Node's startup included, as
 * Mock's Python startup is in its figure); the server runs here. The
 * download phase alone (downloads with verification, as isolated-repo's
 * summary times it: no startup, no createrepo_c) is set against curl as
 * `download_vs_curl` (the product's target: at least 0.8).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureWorld } from '../world/build.js';
import { serveWorld } from '../world/serve.js';
import { defaultJobs } from '../src/util/map-limit.js';
import { lockfileOf, worldRpms, writeLockfile } from '../test/helpers/isolated-repo.js';

const rounds = 5;
const bin = fileURLToPath(new URL('../../bin/isomock-isolated-repo', import.meta.url));

function timed(argv: string[]): Promise<number> {
  return timedWithStderr(argv).then((r) => r.seconds);
}

function timedWithStderr(argv: string[]): Promise<{ seconds: number; stderr: string }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve({ seconds: (performance.now() - start) / 1000, stderr })
        : reject(new Error(`${argv[0]} exited ${code}: ${stderr}`)),
    );
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** @public bench/run.ts calls every bench module's run() by name. */
export async function run(): Promise<Record<string, unknown>> {
  const served = await serveWorld(await ensureWorld());
  const work = '/tmp/iso-isorepo/bench';
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const rpms = await worldRpms(served);
    const bytes = rpms.reduce((n, r) => n + statSync(r.source).size, 0);
    const lockfile = writeLockfile(work, 'buildroot_lock.json', lockfileOf(rpms.map((r) => r.locked)));
    const curlConfig = join(work, 'curl.cfg');
    writeFileSync(
      curlConfig,
      rpms.map((r) => `url = "${r.locked.url}"\noutput = "${join(work, 'curl', r.file)}"\n`).join(''),
    );

    const cold: number[] = [];
    const download: number[] = [];
    const noop: number[] = [];
    const curl: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const out = join(work, `repo-${i}`);
      const first = await timedWithStderr([process.execPath, bin, '--lockfile', lockfile, '--output-repo', out]);
      cold.push(first.seconds);
      // The summary: "... N MiB in S s (...)".
      const phase = / MiB in (\d+(?:\.\d+)?) s /.exec(first.stderr);
      if (!phase) throw new Error(`no download time in isolated-repo's summary: ${first.stderr}`);
      download.push(Number(phase[1]));
      noop.push(await timed([process.execPath, bin, '--lockfile', lockfile, '--output-repo', out, '-q']));
      rmSync(join(work, 'curl'), { recursive: true, force: true });
      curl.push(
        await timed([
          'curl',
          '-sSf',
          '--parallel',
          '--parallel-max',
          String(defaultJobs),
          '--create-dirs',
          '-K',
          curlConfig,
        ]),
      );
    }
    const mib = bytes / 1048576;
    return {
      name: 'isolated-repo',
      rpms: rpms.length,
      mebibytes: round3(mib),
      jobs: defaultJobs,
      rounds,
      cold_seconds_median: round3(median(cold)),
      noop_seconds_median: round3(median(noop)),
      curl_parallel_seconds_median: round3(median(curl)),
      cold_mib_per_second: round3(mib / median(cold)),
      curl_mib_per_second: round3(mib / median(curl)),
      download_seconds_median: round3(median(download)),
      download_mib_per_second: round3(mib / median(download)),
      download_vs_curl: round3(median(curl) / median(download)),
      download_seconds: download.map(round3),
      cold_seconds: cold.map(round3),
      noop_seconds: noop.map(round3),
      curl_seconds: curl.map(round3),
    };
  } finally {
    await served.close();
    rmSync(work, { recursive: true, force: true });
  }
}
