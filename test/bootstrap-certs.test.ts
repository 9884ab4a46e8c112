/**
 * dnf inside a bootstrap image reads the certificates dnf.conf names on the
 * host (bootstrap-certs.ts): calculate, through the dnf4 image, against an
 * HTTPS repository with a CA of its own that requires a client certificate,
 * with sslcacert/sslclientcert/sslclientkey naming files in a host scratch
 * directory the image knows nothing of.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startOrigin, type Origin } from '../world/net/origin.js';
import { makeTestPki, type TestPki } from '../world/net/pki.js';
import { startRegistry, type TestRegistry } from '../world/registry.js';
import { pushDnfBootstrap } from '../world/images.js';
import { isomock } from './helpers/isomock.js';
import { freePort } from './helpers/ports.js';
import { isomockMounts } from './helpers/mounts.js';
import { scratchOpts, serveWorld, worldFiles, type ServedWorld } from './helpers/world.js';

let registry: TestRegistry | undefined;
let world: ServedWorld | undefined;
let repo: Origin | undefined;
let pki: TestPki;
let scratch: string;

before(async () => {
  scratch = mkdtempSync('/tmp/isomock-bootstrap-certs-');
  pki = makeTestPki(join(scratch, 'pki'));
  registry = await startRegistry(await freePort());
  await pushDnfBootstrap(registry.host);
  world = await serveWorld({ bootstrapImage: `${registry.host}/world/bootstrap:1` });
  repo = await startOrigin({ files: worldFiles(world.world.dir), tls: { ...pki.server, clientCa: pki.ca } });
});

after(async () => {
  await repo?.close();
  await world?.close();
  await registry?.stop();
  if (scratch && isomockMounts(scratch).length === 0) rmSync(scratch, { recursive: true, force: true });
});

test("the bootstrap's dnf reaches an HTTPS repository through dnf.conf's host certificate paths", async () => {
  const configDir = join(scratch, 'cfg');
  cpSync(world!.configDir, configDir, { recursive: true });
  const cfg = join(configDir, 'world-1-x86_64.cfg');
  const tls = [`sslcacert=${pki.ca}`, `sslclientcert=${pki.client.cert}`, `sslclientkey=${pki.client.key}`];
  const text = readFileSync(cfg, 'utf8')
    .replaceAll(world!.url, repo!.url)
    .replace(/^(baseurl=.*)$/gm, (line) => [line, ...tls].join('\n'));
  writeFileSync(cfg, text);
  const srpm = join(world!.world.dir, world!.world.manifest.srpms.find((s) => s.name === 'dyn-br-synth')!.file);
  const dir = join(scratch, 'run');
  const r = await isomock(
    [
      '--configdir',
      configDir,
      '-r',
      'world-1-bootstrap-x86_64',
      ...scratchOpts(dir, 'calc'),
      '-q',
      '--calculate-build-dependencies',
      srpm,
    ],
    { env: { http_proxy: '', https_proxy: '', no_proxy: '' }, killAfterMs: 300_000 },
  );
  assert.equal(r.code, 0, `calculate: ${r.stderr}`);
  assert.ok(existsSync(join(dir, 'calc', 'buildroot_lock.json')));
  // isomock's own URL check sends the certificate too: dnf's requests are the ones librepo makes.
  const byDnf = repo!.requests.filter((q) => /libdnf|librepo/i.test(q.userAgent ?? ''));
  assert.ok(
    byDnf.some((q) => q.url.endsWith('.rpm') && q.status === 200 && q.clientCert !== undefined),
    "the bootstrap's dnf downloaded packages with the client certificate",
  );
});
