/**
 * `isomock isolated-repo` on every binary RPM of the world, served on
 * loopback: the cold run (empty store: download, verify, enter the store,
 * createrepo_c), the warm run (a new output repository from the filled store:
 * no network, hard links, createrepo_c), the no-op second run over the same
 * repository, and the floor: a plain parallel download of the same files
 * (curl --parallel, same concurrency, no verification) plus createrepo_c over
 * them, the exact commands in `floor_commands`. Beside them, Node's own start
 * (`startup_command`), which every isomock run pays and the floor does not,
 * and the loading of the HTTP client (`client_load_command`, less Node's
 * start), which a cold run pays at its first download. Each is a separate
 * process, timed from spawn to exit (Node's startup included, as Mock's
 * Python startup is in its figure); the download phase is isomock's own
 * figure, from the first download's start (loading the HTTP client
 * included) to the last file checked. The server runs here, and counts the
 * requests of the warm runs (it must be 0).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureWorld } from '../world/build.js';
import { serveWorld } from '../world/serve.js';
import { defaultJobs } from '../src/util/map-limit.js';
import { lockfileOf, worldRpms, writeLockfile } from '../test/helpers/isolated-repo.js';

const rounds = 5;
const bin = fileURLToPath(new URL('../../bin/isomock-isolated-repo', import.meta.url));

function timed(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return timedWithStderr(argv, env).then((r) => r.seconds);
}

function timedWithStderr(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ seconds: number; stderr: string }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env });
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
  // A directory of its own: benches in parallel checkouts must not share one.
  const work = mkdtempSync(join(tmpdir(), 'iso-bench-isorepo-'));
  try {
    const rpms = await worldRpms(served);
    const bytes = rpms.reduce((n, r) => n + statSync(r.source).size, 0);
    const lockfile = writeLockfile(work, 'buildroot_lock.json', lockfileOf(rpms.map((r) => r.locked)));
    const curlConfig = join(work, 'curl.cfg');
    writeFileSync(
      curlConfig,
      rpms.map((r) => `url = "${r.locked.url}"\noutput = "${join(work, 'curl', r.file)}"\n`).join(''),
    );

    const curlArgv = [
      'curl',
      '-sSf',
      '--parallel',
      '--parallel-max',
      String(defaultJobs),
      '--create-dirs',
      '-K',
      curlConfig,
    ];
    const createrepoArgv = ['createrepo_c', '--compatibility', '--quiet', join(work, 'curl')];
    const cold: number[] = [];
    const warm: number[] = [];
    const download: number[] = [];
    const curl: number[] = [];
    const noop: number[] = [];
    const floor: number[] = [];
    const startup: number[] = [];
    const startupArgv = [process.execPath, '-e', '0'];
    const clientLoad: number[] = [];
    const modules = ['net/transport.js', 'net/config-map.js'].map((m) => new URL(`../src/${m}`, import.meta.url).href);
    const clientArgv = [
      process.execPath,
      '--input-type=module',
      '-e',
      modules.map((m) => `await import(${JSON.stringify(m)});`).join(' '),
    ];
    let warmRequests = 0;
    for (let i = 0; i < rounds; i++) {
      const env = { ...process.env, ISOMOCK_STORE: join(work, `store-${i}`) };
      const repo = (kind: string): string[] => [
        process.execPath,
        bin,
        '--lockfile',
        lockfile,
        '--output-repo',
        join(work, `${kind}-${i}`),
      ];
      const first = await timedWithStderr(repo('cold'), env);
      cold.push(first.seconds);
      // The summary: "... N MiB in S s (...)".
      const phase = / MiB in (\d+(?:\.\d+)?) s /.exec(first.stderr);
      if (!phase) throw new Error(`no download time in isolated-repo's summary: ${first.stderr}`);
      download.push(Number(phase[1]));
      noop.push(await timed([...repo('cold'), '-q'], env));
      const mark = served.server.requests.length;
      warm.push(await timed([...repo('warm'), '-q'], env));
      warmRequests += served.server.requests.length - mark;
      rmSync(join(work, 'curl'), { recursive: true, force: true });
      const curlSeconds = await timed(curlArgv);
      curl.push(curlSeconds);
      floor.push(curlSeconds + (await timed(createrepoArgv)));
      const started = await timed(startupArgv);
      startup.push(started);
      clientLoad.push((await timed(clientArgv)) - started);
    }
    const mib = bytes / 1048576;
    return {
      name: 'isolated-repo',
      rpms: rpms.length,
      mebibytes: round3(mib),
      jobs: defaultJobs,
      rounds,
      floor_commands: [curlArgv.join(' '), createrepoArgv.join(' ')],
      startup_command: startupArgv.join(' '),
      startup_seconds_median: round3(median(startup)),
      client_load_command: clientArgv.join(' '),
      client_load_seconds_median: round3(median(clientLoad)),
      cold_seconds_median: round3(median(cold)),
      warm_seconds_median: round3(median(warm)),
      noop_seconds_median: round3(median(noop)),
      floor_seconds_median: round3(median(floor)),
      cold_over_floor: round3(median(cold) / median(floor)),
      warm_over_floor: round3(median(warm) / median(floor)),
      warm_requests: warmRequests,
      cold_mib_per_second: round3(mib / median(cold)),
      curl_mib_per_second: round3(mib / median(curl)),
      download_seconds_median: round3(median(download)),
      download_mib_per_second: round3(mib / median(download)),
      download_vs_curl: round3(median(curl) / median(download)),
      download_less_client_load_vs_curl: round3(median(curl) / (median(download) - median(clientLoad))),
      download_seconds: download.map(round3),
      cold_seconds: cold.map(round3),
      warm_seconds: warm.map(round3),
      noop_seconds: noop.map(round3),
      floor_seconds: floor.map(round3),
    };
  } finally {
    await served.close();
    rmSync(work, { recursive: true, force: true });
  }
}
