/**
 * The world's static server over real loopback HTTP: HEAD, byte ranges,
 * percent-encoded names, confinement to the root, injected faults, a clean
 * stop that also ends keep-alive connections.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:net';
import { serveWorld, type ServedWorld } from './helpers/world.js';
import { serveDirectory, parseRange, type Fault } from '../world/server.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One raw request; the path goes on the wire exactly as given (no client-side normalising). */
function fetchRaw(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; agent?: Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: options.agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

let served: ServedWorld;
let bash: { url: string; bytes: Buffer };

before(async () => {
  served = await serveWorld();
  const pkg = served.world.manifest.packages.find((p) => p.name === 'bash')!;
  assert.match(pkg.file, /\+/, 'the bash package name carries a "+" (Debian revision)');
  bash = {
    url: `/${pkg.file.split('/').map(encodeURIComponent).join('/')}`,
    bytes: await readFile(join(served.world.dir, pkg.file)),
  };
});

after(async () => {
  await served?.close();
});

describe('world server', () => {
  it('answers GET of a %2B-encoded name with the exact file', async () => {
    assert.match(bash.url, /%2B/);
    const r = await fetchRaw(served.port, bash.url);
    assert.equal(r.status, 200);
    assert.equal(Number(r.headers['content-length']), bash.bytes.length);
    assert.ok(r.body.equals(bash.bytes));
  });

  it('answers HEAD with the length and no body', async () => {
    const r = await fetchRaw(served.port, bash.url, { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(Number(r.headers['content-length']), bash.bytes.length);
    assert.equal(r.headers['accept-ranges'], 'bytes');
    assert.equal(r.body.length, 0);
  });

  it('serves byte ranges (206) and refuses unsatisfiable ones (416)', async () => {
    const size = bash.bytes.length;
    const cases: Array<[string, number, number]> = [
      ['bytes=0-3', 0, 3],
      ['bytes=100-', 100, size - 1],
      ['bytes=-16', size - 16, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const r = await fetchRaw(served.port, bash.url, { headers: { Range: range } });
      assert.equal(r.status, 206, range);
      assert.equal(r.headers['content-range'], `bytes ${start}-${end}/${size}`);
      assert.ok(r.body.equals(bash.bytes.subarray(start, end + 1)), range);
    }
    const bad = await fetchRaw(served.port, bash.url, { headers: { Range: `bytes=${size}-` } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers['content-range'], `bytes */${size}`);
  });

  it('parses Range headers as RFC 9110 says', () => {
    assert.deepEqual(parseRange('bytes=5-2', 10), undefined);
    assert.deepEqual(parseRange('bytes=0-99', 10), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=-0', 10), 'unsatisfiable');
    assert.deepEqual(parseRange('bytes=0-1,4-5', 10), undefined);
    assert.deepEqual(parseRange('items=0-1', 10), undefined);
  });

  it('answers 404 for missing files, directories and every way out of the root', async () => {
    for (const path of [
      '/base/Packages/nope.rpm',
      '/base/',
      '/../../etc/passwd',
      '/base/../../etc/passwd',
      '/base/%2e%2e/%2e%2e/etc/passwd',
      `/..%2f.${served.world.manifest.key}.lock`,
      '/%00',
      '/%E0%A4%A',
    ]) {
      const r = await fetchRaw(served.port, path);
      assert.equal(r.status, 404, path);
    }
    assert.equal((await fetchRaw(served.port, '/world.json', { method: 'POST' })).status, 405);
  });

  it('stops cleanly: close() ends idle keep-alive connections and the port refuses afterwards', async () => {
    const own = await serveDirectory(served.world.dir);
    const agent = new Agent({ keepAlive: true });
    const r = await fetchRaw(own.port, '/world.json', { agent });
    assert.equal(r.status, 200);
    await own.close(); // would hang on the idle keep-alive socket without closeAllConnections()
    agent.destroy();
    await assert.rejects(
      new Promise((ok, fail) => connect(own.port, '127.0.0.1').once('connect', ok).once('error', fail)),
      /ECONNREFUSED/,
    );
    assert.deepEqual(
      own.requests.map((q) => [q.method, q.path, q.status]),
      [['GET', '/world.json', 200]],
    );
  });
});

describe('world server faults', () => {
  const faults = new Map<string, Fault>();
  let faulty: Awaited<ReturnType<typeof serveDirectory>>;
  const path = (): string => decodeURIComponent(bash.url);

  before(async () => {
    faulty = await serveDirectory(served.world.dir, { faults });
  });
  after(async () => {
    await faulty?.close();
  });

  it('answers an injected status for the given number of requests, then serves normally', async () => {
    faults.set(path(), { status: 503, times: 1 });
    assert.equal((await fetchRaw(faulty.port, bash.url)).status, 503);
    const healed = await fetchRaw(faulty.port, bash.url);
    assert.equal(healed.status, 200);
    assert.ok(healed.body.equals(bash.bytes));
  });

  it('cuts the body mid-way (the client sees an aborted response)', async () => {
    faults.set(path(), { cutAfter: 1000 });
    await assert.rejects(fetchRaw(faulty.port, bash.url), /aborted|ECONNRESET|socket hang up/);
  });

  it('sends wrong bytes of the right length', async () => {
    faults.set(path(), { corrupt: true });
    const r = await fetchRaw(faulty.port, bash.url);
    assert.equal(r.status, 200);
    assert.equal(r.body.length, bash.bytes.length);
    assert.ok(!r.body.equals(bash.bytes));
  });

  it('sends a slow body that is still complete', async () => {
    faults.set(path(), { chunkDelayMs: 5 });
    const r = await fetchRaw(faulty.port, bash.url);
    assert.ok(r.body.equals(bash.bytes));
    faults.clear();
  });
});
