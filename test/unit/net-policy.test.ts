/** Retry classification, backoff, redirects and the URL forms of the transport (pure modules of src/net/). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRetryable, NetError, netErrorFrom, oneLine, retryableStatus } from '../../src/net/net-error.js';
import { headersForHop, redirectTarget } from '../../src/net/redirect-policy.js';
import { defaultRetryPolicy, parseRetryAfter, retryDelayMs } from '../../src/net/retry-policy.js';
import { originOf, shownUrl } from '../../src/net/url.js';

test('retried: 5xx but 501/505, 408, 429, resets, timeouts; never 4xx, TLS, proxy auth, redirects, abort', () => {
  for (const s of [500, 502, 503, 504, 408, 429, 599]) assert.equal(retryableStatus(s), true, String(s));
  for (const s of [400, 401, 403, 404, 410, 416, 501, 505]) assert.equal(retryableStatus(s), false, String(s));
  for (const k of ['reset', 'timeout', 'dns-temporary'] as const) assert.equal(isRetryable(k), true, k);
  for (const k of [
    'tls-unknown-ca',
    'tls-self-signed',
    'tls-expired',
    'tls-hostname',
    'tls-cert-required',
    'tls-cert-refused',
    'proxy-auth',
    'proxy-refused',
    'too-many-redirects',
    'refused',
    'dns',
    'local-file',
    'aborted',
  ] as const)
    assert.equal(isRetryable(k), false, k);
  assert.equal(isRetryable('http-status', 503), true);
  assert.equal(isRetryable('http-status', 404), false);
  assert.equal(isRetryable('proxy-status', 502), true);
});

test('backoff doubles with jitter between half and the whole ceiling, capped; Retry-After wins when longer', () => {
  const p = { ...defaultRetryPolicy, baseMs: 100, maxMs: 1000 };
  assert.equal(
    retryDelayMs(1, p, undefined, () => 0),
    50,
  );
  assert.equal(
    retryDelayMs(1, p, undefined, () => 1),
    100,
  );
  assert.equal(
    retryDelayMs(3, p, undefined, () => 0),
    200,
  );
  assert.equal(
    retryDelayMs(10, p, undefined, () => 1),
    1000,
  );
  assert.equal(
    retryDelayMs(1, p, 5000, () => 0),
    5000,
  );
  assert.equal(
    retryDelayMs(1, p, 10, () => 1),
    100,
  );
  // A server asking for longer than the policy waits: no retry.
  assert.equal(retryDelayMs(1, p, p.maxRetryAfterMs + 1), undefined);
  const spread = new Set(Array.from({ length: 20 }, () => retryDelayMs(2, p)));
  assert.ok(spread.size > 1, 'parallel failures do not all wait the same');
});

test('Retry-After: delta seconds or an HTTP date', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('7', now), 7000);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('credentials follow a redirect within their origin only, and come back with it', () => {
  const given = { Authorization: 'Bearer t', cookie: 'c', range: 'bytes=5-', Accept: 'x' };
  const first = new URL('https://repo.example/a');
  assert.deepEqual(headersForHop(given, first, new URL('https://repo.example:443/b')), given);
  for (const other of ['https://cdn.example/b', 'http://repo.example/b', 'https://repo.example:8443/b'])
    assert.deepEqual(headersForHop(given, first, new URL(other)), { range: 'bytes=5-', Accept: 'x' }, other);
});

test('redirect targets: relative resolved, only http(s), fragment dropped', () => {
  const from = new URL('https://repo.example/dir/a.rpm');
  assert.equal(String(redirectTarget('../b.rpm#x', from)), 'https://repo.example/b.rpm');
  assert.equal(String(redirectTarget('//cdn.example/c', from)), 'https://cdn.example/c');
  assert.equal(typeof redirectTarget('file:///etc/shadow', from), 'string');
  assert.equal(typeof redirectTarget(undefined, from), 'string');
});

test('origins spell out the default port; shown URLs drop user info, query and fragment', () => {
  assert.equal(originOf(new URL('https://Repo.Example/x')), 'https://repo.example:443');
  assert.equal(originOf(new URL('http://[::1]:8080/x')), 'http://[::1]:8080');
  assert.equal(
    shownUrl('https://user:pw@cdn.example/p/a.rpm?X-Amz-Signature=secret&t=1#frag'),
    'https://cdn.example/p/a.rpm',
  );
  assert.equal(shownUrl('not a url'), '(an invalid URL)');
});

test('errors are one line naming the cause, whatever the error object holds', () => {
  const tls = Object.assign(new Error('unable to get local issuer certificate'), {
    code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  });
  const wrapped = Object.assign(new Error('fetch failed'), { cause: tls });
  const e = netErrorFrom(wrapped, 'https://u:p@h.example/x?sig=1');
  assert.ok(e instanceof NetError);
  assert.equal(e.kind, 'tls-unknown-ca');
  assert.equal(e.retryable, false);
  assert.equal(e.message, "https://h.example/x: the server's certificate is signed by an unknown CA");
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3128'), { code: 'ECONNREFUSED', port: 3128 });
  assert.equal(netErrorFrom(refused, 'http://h/', { proxyHost: '127.0.0.1:3128' }).kind, 'proxy-refused');
  assert.equal(netErrorFrom(refused, 'http://h/').kind, 'refused');
  assert.equal(oneLine('a\nb\r\n\u0007c'), 'a b c');
});
