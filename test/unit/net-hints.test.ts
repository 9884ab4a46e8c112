/**
 * What isolated-repo says when a download fails where calculate had used a
 * setting of its own (net/setting-hint.ts), and the record's fields that
 * carry it (lockfile/record.ts: network, final_url): names only, origins
 * only, never a query string or user info.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetError } from '../../src/net/net-error.js';
import { downloadHint } from '../../src/net/setting-hint.js';
import { parseRecord } from '../../src/lockfile/record.js';

const failure = (kind: NetError['kind'], status?: number) => new NetError(kind, 'https://r:8443/p.rpm', 'x', status);
const origin = 'https://r:8443';

test('the hint names the option for the setting calculate used, when the failure fits it', () => {
  const all = { [origin]: ['ca', 'client-cert', 'proxy'] as const };
  assert.match(downloadHint(failure('tls-unknown-ca'), origin, all)!, /give --ca-cert FILE or SSL_CERT_FILE/);
  assert.match(downloadHint(failure('tls-cert-required'), origin, all)!, /give --client-cert-for r:8443 CERT \[KEY\]/);
  assert.match(downloadHint(failure('refused'), origin, all)!, /through a proxy: give --proxy URL or set https_proxy/);
  assert.match(downloadHint(failure('refused'), 'http://r:80', { 'http://r:80': ['proxy'] })!, /or set http_proxy/);
});

test('no hint without a note for that origin, or for a failure the setting does not explain', () => {
  assert.equal(downloadHint(failure('tls-unknown-ca'), origin, undefined), undefined);
  assert.equal(downloadHint(failure('tls-unknown-ca'), origin, { 'https://other:8443': ['ca'] }), undefined);
  assert.equal(downloadHint(failure('tls-unknown-ca'), origin, { [origin]: ['proxy'] }), undefined);
  assert.equal(downloadHint(failure('tls-expired'), origin, { [origin]: ['ca'] }), undefined);
  assert.equal(downloadHint(failure('http-status', 404), undefined, { [origin]: ['proxy'] }), undefined);
});

const record = (extra: Record<string, unknown>, pkg: Record<string, unknown> = {}) =>
  JSON.stringify({
    isomock_lock_version: 1,
    packages: {
      'a-0:1-1.x86_64': { sigmd5: '0'.repeat(32), sha256: null, size: null, repo: null, mirror: null, ...pkg },
    },
    ...extra,
  });

test('the record takes network notes by origin and a final URL of origin and path only', () => {
  const r = parseRecord(
    record({ network: { [origin]: ['ca', 'proxy'] } }, { final_url: 'http://cdn:80/x/a.rpm' }),
    's',
  );
  assert.deepEqual(r.network, { [origin]: ['ca', 'proxy'] });
  assert.equal(r.packages['a-0:1-1.x86_64']!.final_url, 'http://cdn:80/x/a.rpm');
  for (const bad of ['http://cdn/a.rpm?X-Amz-Signature=s', 'http://u:p@cdn/a.rpm', 'file:///a.rpm'])
    assert.throws(() => parseRecord(record({}, { final_url: bad }), 's'), /final_url/, bad);
  for (const network of [{ 'https://r': ['ca'] }, { [origin]: ['password'] }, { [origin]: 'ca' }, []])
    assert.throws(() => parseRecord(record({ network }), 's'), /network/, JSON.stringify(network));
});
