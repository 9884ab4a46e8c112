/** dnf.conf, Mock's SSL options, --client-cert-for and certs.d as transport options (src/net/config-map.ts, certs-d.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDnfConf } from '../../src/config/dnfconf.js';
import { IsomockError } from '../../src/errors.js';
import { certsDSettings } from '../../src/net/certs-d.js';
import { clientCertOrigins, hostPathOf, repoTransportOptions } from '../../src/net/config-map.js';

const mock = { hostCaBundle: '/etc/ssl/certs/ca-certificates.crt' };

function optionsFor(text: string, repo = 'r', m = mock, env = {}) {
  const conf = parseDnfConf(text);
  return repoTransportOptions(
    conf,
    conf.repos.find((s) => s.id === repo)!,
    m,
    env,
  );
}

test('a repo with its CA, client certificate and proxy: CA for all its requests, the rest for its origins', () => {
  const o = optionsFor(`[main]
proxy_username=alice
proxy_password=s3cret
[r]
baseurl=https://repo.example/os/ https://mirror.example:8443/os/
metalink=https://meta.example/metalink?repo=x
sslcacert=/etc/pki/corp-ca.pem
sslclientcert=/etc/pki/entitlement/1.pem
sslclientkey=/etc/pki/entitlement/1-key.pem
proxy=http://proxy.corp:3128
`);
  assert.deepEqual(o.proxy, { url: 'http://proxy.corp:3128', username: 'alice', password: 's3cret' });
  assert.deepEqual(o.tls, { caFiles: ['/etc/pki/corp-ca.pem'] });
  const grant = { clientCert: { cert: '/etc/pki/entitlement/1.pem', key: '/etc/pki/entitlement/1-key.pem' } };
  assert.deepEqual(
    o.originTls,
    new Map([
      ['https://repo.example:443', grant],
      ['https://mirror.example:8443', grant],
      ['https://meta.example:443', grant],
    ]),
  );
});

test('proxy: inherited from [main], empty or _none_ leaves it to the environment, auth none drops credentials', () => {
  assert.deepEqual(optionsFor('[main]\nproxy=http://m:1\n[r]\nbaseurl=http://x/\n').proxy, { url: 'http://m:1' });
  assert.equal(optionsFor('[main]\nproxy=http://m:1\n[r]\nbaseurl=http://x/\nproxy=\n').proxy, undefined);
  assert.equal(optionsFor('[main]\nproxy=http://m:1\n[r]\nbaseurl=http://x/\nproxy=_none_\n').proxy, undefined);
  assert.deepEqual(optionsFor('[r]\nbaseurl=http://x/\nproxy=http://u:pw@p:1\nproxy_auth_method=none\n').proxy, {
    url: 'http://p:1',
  });
  assert.throws(
    () => optionsFor('[r]\nbaseurl=http://x/\nproxy=http://p:1\nproxy_auth_method=ntlm\n'),
    (e: Error) => e instanceof IsomockError && e.exitCode === 3 && /ntlm/.test(e.message),
  );
  assert.throws(
    () => optionsFor('[r]\nbaseurl=http://x/\nproxy=ftp://u:topsecret@p:1\n'),
    (e: Error) => e instanceof IsomockError && !/topsecret/.test(e.message),
  );
});

test('sslverify=0 is granted to the repo origins only; a key without a certificate is an error', () => {
  const o = optionsFor('[main]\nsslverify=0\n[r]\nbaseurl=https://self.example/\n');
  assert.equal(o.tls, undefined);
  assert.deepEqual(o.originTls, new Map([['https://self.example:443', { verify: false }]]));
  assert.equal(optionsFor('[r]\nbaseurl=https://x/\nsslverify=1\n').originTls, undefined);
  assert.throws(() => optionsFor('[r]\nbaseurl=https://x/\nsslverify=maybe\n'), IsomockError);
  assert.throws(() => optionsFor('[r]\nbaseurl=https://x/\nsslclientkey=/k.pem\n'), /without sslclientcert/);
});

test("buildroot paths of Mock's copies map back to their host sources", () => {
  const m = {
    hostCaBundle: '/etc/ssl/certs/ca-certificates.crt',
    ssl_ca_bundle_path: '/etc/pki/tls/certs/ca-bundle.crt',
    ssl_extra_certs: ['/srv/keys/client.crt', '/etc/pki/tls/certs/', '/srv/keys/client.key', '/etc/pki/tls/private'],
  };
  assert.equal(hostPathOf('/etc/pki/tls/certs/ca-bundle.crt', m), '/etc/ssl/certs/ca-certificates.crt');
  assert.equal(hostPathOf('/etc/pki/tls/certs/client.crt', m), '/srv/keys/client.crt');
  assert.equal(hostPathOf('/etc/pki/tls/private//client.key', m), '/srv/keys/client.key');
  assert.equal(hostPathOf('/etc/pki/other.pem', m), '/etc/pki/other.pem');
  const o = optionsFor(
    '[r]\nbaseurl=https://cdn.example/\nsslcacert=/etc/pki/tls/certs/ca-bundle.crt\nsslclientcert=/etc/pki/tls/certs/client.crt\nsslclientkey=/etc/pki/tls/private/client.key\n',
    'r',
    m,
  );
  assert.deepEqual(o.tls, { caFiles: ['/etc/ssl/certs/ca-certificates.crt'] });
  assert.deepEqual(o.originTls?.get('https://cdn.example:443'), {
    clientCert: { cert: '/srv/keys/client.crt', key: '/srv/keys/client.key' },
  });
});

test('--client-cert-for: host:port is that origin, a bare host every port of it', () => {
  const map = clientCertOrigins(
    new Map([
      ['cdn.example', { cert: '/c.pem', key: '/k.pem' }],
      ['Sat.Example:8443', { cert: '/both.pem' }],
    ]),
  );
  assert.deepEqual(
    map,
    new Map([
      ['https://cdn.example', { clientCert: { cert: '/c.pem', key: '/k.pem' } }],
      ['https://sat.example:8443', { clientCert: { cert: '/both.pem' } }],
    ]),
  );
});

test('certs.d: *.crt are extra CAs, NAME.cert pairs with NAME.key, an unpaired one is an error', () => {
  assert.deepEqual(certsDSettings('/d', ['client.key', 'ca.crt', 'client.cert', 'b.crt', 'README']), {
    extraCaFiles: ['/d/b.crt', '/d/ca.crt'],
    clientCert: { cert: '/d/client.cert', key: '/d/client.key' },
  });
  assert.deepEqual(certsDSettings('/d', []), {});
  assert.throws(() => certsDSettings('/d', ['client.cert']), /missing its key client\.key/);
  assert.throws(() => certsDSettings('/d', ['client.key']), /missing its client certificate/);
});
