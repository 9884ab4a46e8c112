/**
 * The registry client on the shared transport, against Debian's
 * docker-registry over HTTPS requiring a client certificate: certs.d as
 * podman reads it, a clear error without it, blob redirects to another
 * origin, and a proxy from the environment (tinyproxy) carrying it all.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IsomockError } from '../src/errors.js';
import { getImage, imageContext } from '../src/image/source.js';
import { buildImage, craftedTar, layerFromTar, pushImage, type BuiltImage } from '../world/images.js';
import { makeTestPki, type TestPki } from '../world/net/pki.js';
import { startProxy, type TestProxy } from '../world/net/proxy.js';
import { isomockBin } from './helpers/isomock.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';

const work = join('/tmp/iso-net', `image-tls-${process.pid}`);
let pki: TestPki;
let open: TestRegistry;
let secure: TestRegistry;
let proxy: TestProxy;
let image: BuiltImage;
let registriesConf: string;
let certsD: string;

before(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  pki = makeTestPki(join(work, 'pki'));
  open = await startRegistry(5110);
  image = buildImage({
    layers: [
      layerFromTar(
        craftedTar([
          { path: 'etc', type: 'Directory' },
          { path: 'etc/tls', data: 'mtls\n' },
        ]),
      ),
    ],
    architecture: 'amd64',
  });
  await pushImage(open.host, 'corp/img', '1', image);
  secure = await startRegistry(5111, {
    storage: open.dataDir,
    blobsOnPort: 5112,
    tls: { ...pki.server, clientCa: pki.ca, client: pki.client },
  });
  registriesConf = join(work, 'registries.conf');
  writeFileSync(registriesConf, '');
  certsD = join(work, 'certs.d');
  const dir = join(certsD, secure.host);
  mkdirSync(dir, { recursive: true });
  copyFileSync(pki.ca, join(dir, 'ca.crt'));
  copyFileSync(pki.client.cert, join(dir, 'client.cert'));
  copyFileSync(pki.client.key, join(dir, 'client.key'));
  proxy = await startProxy(work);
});

after(async () => {
  await proxy?.close();
  await secure?.stop();
  await open?.stop();
  rmSync(work, { recursive: true, force: true });
});

const context = (name: string, extra: Parameters<typeof imageContext>[0] = {}) =>
  imageContext({
    arch: 'x86_64',
    storeDir: join(work, `store-${name}`),
    registriesConf,
    authFile: join(work, 'no-auth.json'),
    env: {},
    certsDRoots: [join(work, 'empty'), certsD],
    ...extra,
  });

test('a registry requiring a client certificate: refused by name without certs.d', async () => {
  await assert.rejects(
    getImage(context('none', { certsDRoots: [join(work, 'empty')] }), `${secure.host}/corp/img:1`, true),
    (e: Error) => {
      assert.ok(e instanceof IsomockError);
      assert.equal(e.exitCode, 90);
      assert.match(e.message, /requires a client certificate/);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    },
  );
});

test('certs.d/HOST:PORT gives the client certificate; blobs redirected to another origin are fetched', async () => {
  const seen = secure.blobRequests.length;
  const got = await getImage(context('certs'), `${secure.host}/corp/img:1`, true);
  assert.equal(got.manifestDigest, image.manifestDigest);
  assert.deepEqual(
    secure.blobRequests.slice(seen).map((r) => [r.method, r.status, r.authorization]),
    [
      ['GET', 200, undefined],
      ['GET', 200, undefined],
    ],
  );
});

test('the proxy from the environment carries the registry (CONNECT) and the redirected blobs', async () => {
  const env = { https_proxy: proxy.url, http_proxy: proxy.url };
  const got = await getImage(context('proxy', { env }), `${secure.host}/corp/img:1`, true);
  assert.equal(got.manifestDigest, image.manifestDigest);
  const log = proxy.log();
  assert.match(log, new RegExp(`CONNECT 127\\.0\\.0\\.1:${secure.port}`));
  assert.match(log, /GET http:\/\/127\.0\.0\.1:5112\/docker\/registry\/v2\/blobs\//);
});

/** `isomock image pull REF` with HOME (where podman's per-user certs.d lives) set to `home`. */
function pull(ref: string, home: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    HOME: home,
    CONTAINERS_REGISTRIES_CONF: registriesConf,
    ISOMOCK_IMAGE_STORE: join(work, `cli-store-${home.length}`),
  };
  return new Promise((resolve) => {
    execFile(isomockBin, ['image', 'pull', ref], { env, encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}

test('CLI: image pull reads ~/.config/containers/certs.d; without it, one line naming the cause (exit 90)', async () => {
  const ref = `${secure.host}/corp/img:1`;
  const bare = join(work, 'home-bare');
  mkdirSync(bare, { recursive: true });
  const refused = await pull(ref, bare);
  assert.equal(refused.code, 90, refused.stderr);
  assert.match(refused.stderr, /^isomock: error: .*requires a client certificate\n$/);
  const home = join(work, 'home');
  mkdirSync(join(home, '.config', 'containers'), { recursive: true });
  rmSync(join(home, '.config', 'containers', 'certs.d'), { recursive: true, force: true });
  copyDir(join(certsD, secure.host), join(home, '.config', 'containers', 'certs.d', secure.host));
  const ok = await pull(ref, home);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), image.manifestDigest);
});

function copyDir(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const f of ['ca.crt', 'client.cert', 'client.key']) copyFileSync(join(from, f), join(to, f));
}
