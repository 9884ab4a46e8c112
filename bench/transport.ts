/**
 * Download throughput of the shared transport (src/net/) against
 * `curl --parallel` on the same files, over loopback from the world's
 * static server: N files written to disk with the same concurrency, plain
 * HTTP and HTTPS (test CA). Each side is its own process per round, timed
 * from spawn to exit (Node's startup is in the transport's time, as curl's
 * is in curl's), while the servers keep this process's event loop to
 * themselves: this module re-runs itself with `--client` for the transport
 * side. The product's target is a ratio (transport / curl throughput) of at
 * least 0.8.
 */
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { pipeline } from 'node:stream/promises';
import { Transport } from '../src/net/transport.js';
import { timedSpawn as timed } from './timed-spawn.js';
import { serveDirectory } from '../world/server.js';
import { startOrigin } from '../world/net/origin.js';
import { makeTestPki } from '../world/net/pki.js';

const files = 48;
const fileBytes = 2 * 1024 * 1024;
const jobs = 8;
const rounds = 5;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

const self = fileURLToPath(import.meta.url);

/** The transport side, in its own process: `node transport.js --client JOB.json`. */
async function client(job: { urls: string[]; out: string; ca: string }): Promise<void> {
  const transport = new Transport({ tls: { caFiles: [job.ca] }, connections: jobs });
  const { urls, out } = job;
  mkdirSync(out, { recursive: true });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < urls.length) {
      const i = next++;
      const res = await transport.request(urls[i]!);
      await pipeline(res.body, createWriteStream(join(out, `f${i}`), { highWaterMark: 1 << 20 }));
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: jobs }, worker));
  process.stdout.write(`${(performance.now() - start) / 1000}\n`);
  await transport.close();
}

async function compare(name: string, base: string, work: string, ca: string): Promise<Record<string, unknown>> {
  const urls = Array.from({ length: files }, (_, i) => `${base}f${i}`);
  const config = join(work, `${name}.curl`);
  writeFileSync(config, urls.map((u, i) => `url = "${u}"\noutput = "${join(work, 'curl', `f${i}`)}"\n`).join(''));
  const job = join(work, `${name}.json`);
  writeFileSync(job, JSON.stringify({ urls, out: join(work, 'ours'), ca }));
  const curlArgv = ['curl', '-sSf', '--parallel', '--parallel-max', String(jobs), '--create-dirs', '--cacert', ca];
  const ours: number[] = [];
  const oursTransfer: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    rmSync(join(work, 'ours'), { recursive: true, force: true });
    rmSync(join(work, 'curl'), { recursive: true, force: true });
    const run = await timed([process.execPath, self, '--client', job]);
    ours.push(run.seconds);
    oursTransfer.push(Number(run.stdout.trim()));
    theirs.push((await timed([...curlArgv, '-K', config])).seconds);
  }
  const mib = (files * fileBytes) / 1048576;
  const oursRate = mib / median(ours);
  const transferRate = mib / median(oursTransfer);
  const curlRate = mib / median(theirs);
  return {
    transport_mib_per_second: round3(oursRate),
    transport_transfer_mib_per_second: round3(transferRate),
    curl_mib_per_second: round3(curlRate),
    ratio: round3(oursRate / curlRate),
    // Without Node's startup (curl's few ms of startup stay in its time).
    transfer_ratio: round3(transferRate / curlRate),
    transport_seconds: ours.map(round3),
    transport_transfer_seconds: oursTransfer.map(round3),
    curl_seconds: theirs.map(round3),
  };
}

export async function run(): Promise<Record<string, unknown>> {
  mkdirSync('/tmp/iso-net', { recursive: true });
  const work = mkdtempSync('/tmp/iso-net/bench-');
  const root = join(work, 'files');
  mkdirSync(root);
  const bodies = new Map<string, Buffer>();
  for (let i = 0; i < files; i++) {
    const bytes = randomBytes(fileBytes);
    writeFileSync(join(root, `f${i}`), bytes);
    bodies.set(`/f${i}`, bytes);
  }
  const pki = makeTestPki(join(work, 'pki'));
  const plain = await serveDirectory(root);
  const tls = await startOrigin({ tls: pki.server, files: bodies });
  try {
    return {
      name: 'transport',
      files,
      mebibytes: (files * fileBytes) / 1048576,
      jobs,
      rounds,
      target_ratio: 0.8,
      http: await compare('http', plain.url, work, pki.ca),
      https: await compare('https', tls.url, work, pki.ca),
    };
  } finally {
    await plain.close();
    await tls.close();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === self && process.argv[2] === '--client')
  await client(JSON.parse(readFileSync(process.argv[3]!, 'utf8')) as Parameters<typeof client>[0]);
