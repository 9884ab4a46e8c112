/**
 * The shared transport (src/net/) against real servers on 127.0.0.1: HTTPS
 * with a test CA made by openssl, a server that requires a client
 * certificate, redirect chains across servers (credentials and client
 * certificates stay with their origin), retries, and Debian's tinyproxy as
 * the only way to an origin (given explicitly and by the environment,
 * with and without proxy authentication).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { discard, readBody } from '../src/net/body.js';
import { readCertsD } from '../src/net/certs-d.js';
import { clientCertOrigins } from '../src/net/config-map.js';
import { NetError } from '../src/net/net-error.js';
import { Transport, type RequestOptions, type TransportOptions } from '../src/net/transport.js';
import { checkUrl } from '../src/net/url-check.js';
import { startOpensslServer } from '../world/net/openssl-server.js';
import { startOrigin, type Origin } from '../world/net/origin.js';
import { makeTestPki, type TestPki } from '../world/net/pki.js';
import { startProxy, type TestProxy } from '../world/net/proxy.js';

let scratch: string;
let pki: TestPki;
const file = Buffer.from('hello from the origin\n'.repeat(100));
const files = new Map([['/repo/a.rpm', file]]);
const servers: Origin[] = [];
const transports: Transport[] = [];

async function origin(opts: Parameters<typeof startOrigin>[0]): Promise<Origin> {
  const o = await startOrigin(opts);
  servers.push(o);
  return o;
}

function transport(opts: TransportOptions = {}): Transport {
  const t = new Transport({ retry: { baseMs: 10, maxMs: 50 }, ...opts });
  transports.push(t);
  return t;
}

async function get(t: Transport, url: string, opts: RequestOptions = {}): Promise<Buffer> {
  const res = await t.request(url, opts);
  return readBody(res.body, 1 << 20);
}

/** The NetError a request fails with (the test fails if it succeeds). */
async function failure(t: Transport, url: string, opts: RequestOptions = {}): Promise<NetError> {
  try {
    const res = await t.request(url, opts);
    discard(res.body);
  } catch (err) {
    assert.ok(err instanceof NetError, `a NetError, not ${String(err)}`);
    assert.doesNotMatch(err.message, /\n/, 'one line');
    return err;
  }
  throw new assert.AssertionError({ message: `${url} was expected to fail` });
}

before(() => {
  mkdirSync('/tmp/iso-net', { recursive: true });
  scratch = mkdtempSync('/tmp/iso-net/transport-');
  pki = makeTestPki(join(scratch, 'pki'));
});

after(async () => {
  await Promise.all(transports.map((t) => t.close()));
  await Promise.all(servers.map((s) => s.close()));
  rmSync(scratch, { recursive: true, force: true });
});

describe('TLS', () => {
  test('a server with its own CA: refused as an unknown CA (not retried), accepted with the CA file', async () => {
    const s = await origin({ tls: pki.server, files });
    let retries = 0;
    const e = await failure(transport(), `${s.url}repo/a.rpm`, { onRetry: () => retries++ });
    assert.equal(e.kind, 'tls-unknown-ca');
    assert.match(
      e.message,
      /^https:\/\/127\.0\.0\.1:\d+\/repo\/a\.rpm: the server's certificate is signed by an unknown CA$/,
    );
    assert.equal(retries, 0);
    assert.deepEqual(await get(transport({ tls: { caFiles: [pki.ca] } }), `${s.url}repo/a.rpm`), file);
    assert.deepEqual(await get(transport({ tls: { extraCaFiles: [pki.ca] } }), `${s.url}repo/a.rpm`), file);
    assert.deepEqual(await get(transport({ env: { SSL_CERT_FILE: pki.ca } }), `${s.url}repo/a.rpm`), file);
    // The wrong CA instead of the default trust: still unknown.
    assert.equal(
      (await failure(transport({ tls: { caFiles: [pki.otherCa] } }), `${s.url}repo/a.rpm`)).kind,
      'tls-unknown-ca',
    );
  });

  test('self-signed and wrong-host certificates are named; verify off accepts them for that origin only', async () => {
    const self = await origin({ tls: pki.selfSigned, files });
    const e = await failure(transport(), `${self.url}repo/a.rpm`);
    assert.equal(e.kind, 'tls-self-signed');
    assert.match(e.message, /self-signed/);
    const wrongHost = await origin({ tls: pki.otherHost, files });
    const h = await failure(transport({ tls: { caFiles: [pki.ca] } }), `${wrongHost.url}repo/a.rpm`);
    assert.equal(h.kind, 'tls-hostname');
    assert.match(h.message, /another host name/);
    assert.deepEqual(await get(transport(), `${self.url}repo/a.rpm`, { tls: { verify: false } }), file);
  });

  test('a server requiring a client certificate: none and a wrong one are refused by name, the right one passes', async () => {
    const s = await origin({ tls: { ...pki.server, clientCa: pki.ca }, files });
    const url = `${s.url}repo/a.rpm`;
    const none = await failure(transport({ tls: { caFiles: [pki.ca] } }), url);
    assert.equal(none.kind, 'tls-cert-required', none.message);
    assert.match(none.message, /requires a client certificate/);
    assert.equal(none.retryable, false);
    // OpenSSL's own server sends the alert for a certificate from an unknown CA (Node's just closes).
    const root = join(scratch, 'www');
    mkdirSync(join(root, 'repo'), { recursive: true });
    writeFileSync(join(root, 'repo', 'a.rpm'), file);
    const strict = await startOpensslServer(root, pki.server, pki.ca);
    try {
      let retries = 0;
      const wrong = await failure(
        transport({ tls: { caFiles: [pki.ca], clientCert: pki.wrongClient } }),
        `${strict.url}repo/a.rpm`,
        { onRetry: () => retries++ },
      );
      assert.equal(wrong.kind, 'tls-cert-refused', wrong.message);
      assert.match(wrong.message, /refused the client certificate/);
      assert.equal(retries, 0);
      const missing = await failure(transport({ tls: { caFiles: [pki.ca] } }), `${strict.url}repo/a.rpm`);
      assert.equal(missing.kind, 'tls-cert-required', missing.message);
      assert.deepEqual(
        await get(transport({ tls: { caFiles: [pki.ca], clientCert: pki.client } }), `${strict.url}repo/a.rpm`),
        file,
      );
    } finally {
      await strict.close();
    }
    // --client-cert-for 127.0.0.1 CERT KEY: every port of the host.
    const t = transport({
      tls: { caFiles: [pki.ca] },
      originTls: clientCertOrigins(new Map([['127.0.0.1', pki.client]])),
    });
    assert.deepEqual(await get(t, url), file);
    assert.equal(s.requests.at(-1)?.clientCert, 'client');
  });

  test('certs.d/HOST:PORT as podman reads it: ca.crt trusted, client.cert with client.key presented', async () => {
    const s = await origin({ tls: { ...pki.server, clientCa: pki.ca }, files });
    const roots = [join(scratch, 'no-such-root'), join(scratch, 'certs.d')];
    const dir = join(roots[1]!, `127.0.0.1:${s.port}`);
    mkdirSync(dir, { recursive: true });
    copyFileSync(pki.ca, join(dir, 'ca.crt'));
    copyFileSync(pki.client.cert, join(dir, 'client.cert'));
    copyFileSync(pki.client.key, join(dir, 'client.key'));
    assert.equal(readCertsD('127.0.0.1', roots), undefined, 'the port must match the reference');
    const tls = readCertsD(`127.0.0.1:${s.port}`, roots);
    assert.deepEqual(await get(transport(), `${s.url}repo/a.rpm`, { ...(tls && { tls }) }), file);
    assert.equal(s.requests.at(-1)?.clientCert, 'client');
  });
});

describe('redirects', () => {
  test('a chain across servers: credentials and the client certificate stay with the first origin', async () => {
    const target = await origin({ tls: { ...pki.server, clientCa: pki.ca, clientCertOptional: true }, files });
    const middle = await origin({ redirect: { to: target.url, status: 307 } });
    const first = await origin({ tls: { ...pki.server, clientCa: pki.ca }, redirect: { to: middle.url } });
    const t = transport({
      tls: { caFiles: [pki.ca] },
      originTls: new Map([[`https://127.0.0.1:${first.port}`, { clientCert: pki.client }]]),
    });
    const res = await t.request(`${first.url}repo/a.rpm`, { headers: { Authorization: 'Bearer s3cret-token' } });
    assert.deepEqual(await readBody(res.body, 1 << 20), file);
    assert.equal(res.redirects, 2);
    assert.equal(res.url.href, `${target.url}repo/a.rpm`);
    assert.equal(first.requests[0]?.authorization, 'Bearer s3cret-token');
    assert.equal(first.requests[0]?.clientCert, 'client');
    assert.equal(middle.requests[0]?.authorization, undefined);
    assert.equal(target.requests.length, 1);
    assert.equal(target.requests[0]?.authorization, undefined, 'no Authorization to another origin');
    assert.equal(target.requests[0]?.clientCert, undefined, 'no client certificate to another origin');
  });

  test('a per-request grant (client certificate) is not presented to the redirect target', async () => {
    const target = await origin({ tls: { ...pki.server, clientCa: pki.ca, clientCertOptional: true }, files });
    const first = await origin({ tls: { ...pki.server, clientCa: pki.ca }, redirect: { to: target.url } });
    const t = transport({ tls: { caFiles: [pki.ca] } });
    assert.deepEqual(await get(t, `${first.url}repo/a.rpm`, { tls: { clientCert: pki.client } }), file);
    assert.equal(first.requests[0]?.clientCert, 'client');
    assert.equal(target.requests[0]?.clientCert, undefined);
  });

  test('too many redirects is its own error; the URL check asks GET bytes=0-0 and reports origin and path only', async () => {
    const loop = await origin({ redirect: { to: 'placeholder' } });
    const self = await origin({ redirect: { to: `${loop.url}` } });
    // self -> loop -> placeholder (relative, on loop) -> loop ... : never ends.
    const e = await failure(transport({ maxRedirects: 3 }), `${self.url}x`);
    assert.equal(e.kind, 'too-many-redirects');
    assert.match(e.message, /more than 3 redirects/);

    const target = await origin({ files });
    const presigner = await origin({ redirect: { to: `${target.url}` } });
    const signed = `${presigner.url}repo/a.rpm?X-Amz-Signature=deadbeef`;
    const check = await checkUrl(transport(), signed);
    assert.deepEqual(check, { finalUrl: `${target.url}repo/a.rpm`, redirected: true, size: file.length });
    assert.equal(target.requests[0]?.method, 'GET');
    assert.equal(target.requests[0]?.url, '/repo/a.rpm?X-Amz-Signature=deadbeef');
    const missing = await failure(
      transport(),
      `${target.url.replace('http://', 'http://user:pw@')}gone.rpm?sig=s3cret`,
    );
    assert.equal(missing.status, 404);
    assert.doesNotMatch(missing.message, /s3cret|pw|sig=/);
  });
});

describe('retries', () => {
  test('5xx and 429 are retried with Retry-After; 404 and a refused connection are not', async () => {
    let calls = 0;
    const flaky = await origin({
      files,
      gate: () => (++calls <= 2 ? 'busy' : undefined),
    });
    // The gate answers 403: not retryable. A 503 server instead:
    assert.equal((await failure(transport(), `${flaky.url}repo/a.rpm`)).status, 403);
    assert.equal(calls, 1);

    const { createServer } = await import('node:http');
    let hits = 0;
    const busy = createServer((_req, res) => {
      hits++;
      if (hits === 1) res.writeHead(503, { 'Retry-After': '0', 'Content-Length': 0 }).end();
      else if (hits === 2) res.writeHead(429, { 'Content-Length': 0 }).end();
      else res.writeHead(200, { 'Content-Length': 2 }).end('ok');
    });
    await new Promise<void>((ok) => busy.listen(0, '127.0.0.1', () => ok()));
    const port = (busy.address() as { port: number }).port;
    const retried: string[] = [];
    const body = await get(transport(), `http://127.0.0.1:${port}/x`, { onRetry: (e) => retried.push(e.message) });
    assert.equal(body.toString(), 'ok');
    assert.deepEqual(retried, [`http://127.0.0.1:${port}/x: HTTP 503`, `http://127.0.0.1:${port}/x: HTTP 429`]);
    await new Promise<void>((ok) => busy.close(() => ok()));

    const closed = await failure(transport(), `http://127.0.0.1:${port}/x`, { onRetry: () => assert.fail('retried') });
    assert.equal(closed.kind, 'refused');
    assert.match(closed.message, /connection refused/);
  });
});

describe('proxy (tinyproxy)', () => {
  let proxy: TestProxy;
  let authProxy: TestProxy;
  let plain: Origin;
  let secure: Origin;
  const onlyThrough = (p: () => TestProxy) => (req: import('node:http').IncomingMessage) =>
    p().cameThrough(req) ? undefined : 'not through the proxy';

  before(async () => {
    proxy = await startProxy(scratch);
    authProxy = await startProxy(scratch, { username: 'alice', password: 'pr0xy-secret' });
    plain = await origin({ files, gate: (req) => onlyThrough(() => proxy)(req) && onlyThrough(() => authProxy)(req) });
    secure = await origin({
      tls: pki.server,
      files,
      gate: (req) => onlyThrough(() => proxy)(req) && onlyThrough(() => authProxy)(req),
    });
  });
  after(async () => {
    await proxy?.close();
    await authProxy?.close();
  });

  test('the origin answers only requests through the proxy: direct is refused', async () => {
    const e = await failure(transport(), `${plain.url}repo/a.rpm`);
    assert.equal(e.status, 403);
    assert.equal(plain.requests.at(-1)?.refused, 'not through the proxy');
  });

  test('an explicit proxy (dnf.conf proxy=) for http and https targets', async () => {
    const t = transport({ proxy: { url: proxy.url }, tls: { caFiles: [pki.ca] } });
    assert.deepEqual(await get(t, `${plain.url}repo/a.rpm`), file);
    assert.match(plain.requests.at(-1)?.via ?? '', new RegExp(proxy.viaName));
    assert.deepEqual(await get(t, `${secure.url}repo/a.rpm`), file);
    assert.equal(secure.requests.at(-1)?.refused, undefined);
    assert.match(proxy.log(), new RegExp(`CONNECT 127\\.0\\.0\\.1:${secure.port}`));
  });

  test('the proxy from the environment, and no_proxy sending a host direct', async () => {
    const env = { http_proxy: proxy.url, https_proxy: proxy.url };
    const t = transport({ env, tls: { caFiles: [pki.ca] } });
    assert.deepEqual(await get(t, `${plain.url}repo/a.rpm`), file);
    assert.deepEqual(await get(t, `${secure.url}repo/a.rpm`), file);
    const direct = transport({ env: { ...env, no_proxy: `127.0.0.1:${plain.port}` } });
    assert.equal((await failure(direct, `${plain.url}repo/a.rpm`)).status, 403, 'went direct');
  });

  test('proxy authentication: required and named when missing, credentials only to the proxy', async () => {
    const none = transport({ proxy: { url: authProxy.url }, tls: { caFiles: [pki.ca] } });
    for (const url of [`${plain.url}repo/a.rpm`, `${secure.url}repo/a.rpm`]) {
      const e = await failure(none, url);
      assert.equal(e.kind, 'proxy-auth', e.message);
      assert.match(e.message, /proxy 127\.0\.0\.1:\d+ requires authentication/);
    }
    const creds = { url: authProxy.url, username: 'alice', password: 'pr0xy-secret' };
    const t = transport({ proxy: creds, tls: { caFiles: [pki.ca] } });
    assert.deepEqual(await get(t, `${plain.url}repo/a.rpm`), file);
    assert.deepEqual(await get(t, `${secure.url}repo/a.rpm`), file);
    assert.equal(plain.requests.at(-1)?.proxyAuthorization, undefined, 'the origin never sees proxy credentials');
    // From the environment, user info in the URL.
    const env = transport({ env: { http_proxy: authProxy.url.replace('http://', 'http://alice:pr0xy-secret@') } });
    assert.deepEqual(await get(env, `${plain.url}repo/a.rpm`), file);
    // tinyproxy answers wrong credentials with a 401 (and WWW-Authenticate), not a 407.
    const wrong = await failure(transport({ proxy: { ...creds, password: 'nope-secret' } }), `${plain.url}repo/a.rpm`);
    assert.equal(wrong.status, 401);
    assert.match(wrong.message, /through the proxy 127\.0\.0\.1:\d+/);
    assert.doesNotMatch(wrong.message, /secret|alice/);
  });

  test('a proxy that is not listening is named as the proxy', async () => {
    const { port } = proxy;
    const dead = transport({ proxy: { url: `http://127.0.0.1:${port + 1 === authProxy.port ? port + 2 : port + 1}` } });
    const e = await failure(dead, `${plain.url}repo/a.rpm`);
    assert.equal(e.kind, 'proxy-refused', e.message);
    assert.match(e.message, /the proxy 127\.0\.0\.1:\d+ refused the connection/);
  });
});
