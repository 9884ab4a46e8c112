import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';
import { IsomockError } from '../src/errors.js';
import { loadRepository } from '../src/repo/repository.js';
import { buildFixtureRpms, makeRepo } from './helpers/repo-fixture.js';

let scratch: string;
let server: Server;
let base: string;
let deadBase: string;
let repomdSha256: string;
const requests: string[] = [];
let flaky = 0;

before(async () => {
  mkdirSync('/tmp/iso-repo', { recursive: true });
  scratch = mkdtempSync('/tmp/iso-repo/mirrors-');
  const rpms = buildFixtureRpms(join(scratch, 'build'));
  mkdirSync(join(scratch, 'good'));
  mkdirSync(join(scratch, 'stale'));
  makeRepo(rpms, join(scratch, 'good', 'repo'), 'gz');
  // A stale mirror: the same packages, different metadata (no comps).
  makeRepo(rpms, join(scratch, 'stale', 'repo'), 'gz', false);
  repomdSha256 = createHash('sha256')
    .update(readFileSync(join(scratch, 'good', 'repo', 'repodata', 'repomd.xml')))
    .digest('hex');

  // A dead mirror: a port that was free a moment ago and has no listener now.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  deadBase = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/repo/`;
  await new Promise((resolve) => probe.close(resolve));

  server = createServer((req, res) => {
    const url = req.url ?? '/';
    requests.push(url);
    if (url === '/metalink') return void res.end(metalink());
    if (url === '/mirrorlist') return void res.end(`# mirrors\n${deadBase}\n\n${base}good/repo/\n`);
    if (url === '/deadlist') return void res.end(`${deadBase}\n`);
    if (url.startsWith('/flaky/') && flaky++ < 2) return void res.writeHead(503).end();
    if (url.startsWith('/hang/')) return; // never answers
    const path = normalize(decodeURIComponent(url.replace(/^\/(flaky|hang)\//, '/good/')));
    try {
      res.end(readFileSync(join(scratch, path)));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(scratch, { recursive: true, force: true });
});

function metalink(): string {
  const url = (u: string, preference: number) =>
    `<url protocol="http" type="http" location="XX" preference="${preference}">${u}repodata/repomd.xml</url>`;
  return `<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" xmlns:mm0="http://fedorahosted.org/mirrormanager">
 <files>
  <file name="repomd.xml">
   <mm0:timestamp>1700000000</mm0:timestamp>
   <size>1234</size>
   <verification>
    <hash type="sha256">${repomdSha256}</hash>
   </verification>
   <resources maxconnections="1">
    ${url(`${base}good/repo/`, 10)}
    ${url(`${base}stale/repo/`, 90)}
    ${url(deadBase, 100)}
   </resources>
  </file>
 </files>
</metalink>`;
}

test('metalink: the best mirror that is alive and current', async () => {
  const repo = await loadRepository({ id: 'ml', metalink: `${base}metalink` });
  assert.equal(repo.baseUrl, `${base}good/repo/`);
  assert.deepEqual(
    repo.skippedMirrors.map((m) => m.url),
    [deadBase, `${base}stale/repo/`],
  );
  assert.match(repo.skippedMirrors[0]!.reason, /cannot read .*: connection refused/);
  assert.match(repo.skippedMirrors[1]!.reason, /does not match the metalink/);
  assert.equal(repo.index.packages.length, 4);
  assert.equal(repo.groups.length, 2);
  assert.ok(requests.some((r) => r.startsWith('/good/repo/repodata/') && r.endsWith('-primary.xml.gz')));
});

test('mirrorlist: dead mirrors are skipped', async () => {
  const repo = await loadRepository({ id: 'mlist', mirrorlist: `${base}mirrorlist` }, { filelists: false });
  assert.equal(repo.baseUrl, `${base}good/repo/`);
  assert.deepEqual(
    repo.skippedMirrors.map((m) => m.url),
    [deadBase],
  );
  assert.equal(repo.index.byName('beta').length, 1);
});

test('no usable mirror: one message naming the list and each mirror', async () => {
  await assert.rejects(loadRepository({ id: 'dead', mirrorlist: `${base}deadlist` }), (e: IsomockError) => {
    assert.equal(e.exitCode, 30);
    assert.equal(e.message.includes('\n'), false);
    assert.match(
      e.message,
      /^repository dead: no usable mirror in mirrorlist http:\/\/127\.0\.0\.1:\d+\/deadlist: .*connection refused/,
    );
    return true;
  });
  await assert.rejects(
    loadRepository({ id: 'gone', metalink: `${base}nothing-here` }),
    /cannot read .*nothing-here: HTTP 404/,
  );
});

test('transient HTTP errors are retried; a silent server times out', async () => {
  const repo = await loadRepository({ id: 'flaky', baseurl: [`${base}flaky/repo/`] }, { retries: 2 });
  assert.equal(repo.index.packages.length, 4);
  assert.equal(requests.filter((r) => r === '/flaky/repo/repodata/repomd.xml').length, 3);
  await assert.rejects(
    loadRepository({ id: 'hang', baseurl: [`${base}hang/repo/`] }, { timeoutMs: 300, retries: 0 }),
    /hang\/repo\/repodata\/repomd\.xml: no answer in time/,
  );
});
