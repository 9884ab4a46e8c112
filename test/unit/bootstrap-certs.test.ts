/** What a bootstrap's dnf is given of the host's certificates (buildroot/bootstrap-certs.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapCertBinds, type CertOptions } from '../../src/buildroot/bootstrap-certs.js';
import { parseDnfConf } from '../../src/config/dnfconf.js';

const mockDefaults: CertOptions = {
  copiedTrustDirs: [['/etc/pki/ca-trust', '/etc/pki/ca-trust']],
  ssl_ca_bundle_path: null,
  ssl_extra_certs: null,
  redhatSubscriptionRequired: false,
  hostCaBundle: '/etc/ssl/certs/ca-certificates.crt',
};

test("Mock's copies and binds, and dnf.conf's own certificate paths once each where nothing else provides them", () => {
  const conf = parseDnfConf(
    [
      '[main]',
      'sslcacert=/srv/pki/ca.pem',
      '[a]',
      'baseurl=https://a.test/',
      'sslclientcert=/etc/pki/entitlement/1-cert.pem',
      'sslclientkey=/etc/pki/entitlement/1-key.pem',
      '[b]',
      'baseurl=https://b.test/',
      'sslcacert=/etc/pki/tls/certs/extra.pem',
      'sslclientcert=relative.pem',
      'sslclientkey=/home/u/$basearch/key.pem',
      '',
    ].join('\n'),
  );
  const binds = bootstrapCertBinds(
    {
      ...mockDefaults,
      ssl_ca_bundle_path: '/etc/pki/tls/certs/ca-bundle.crt',
      ssl_extra_certs: ['/srv/extra.pem', '/etc/pki/tls/certs/'],
      redhatSubscriptionRequired: true,
    },
    conf,
  );
  assert.deepEqual(binds, [
    { source: '/etc/pki/ca-trust', inside: '/etc/pki/ca-trust' },
    { source: '/etc/ssl/certs/ca-certificates.crt', inside: '/etc/pki/tls/certs/ca-bundle.crt' },
    { source: '/srv/extra.pem', inside: '/etc/pki/tls/certs/extra.pem' },
    { source: '/etc/pki/entitlement', inside: '/etc/pki/entitlement' },
    { source: '/etc/rhsm/ca/katello-server-ca.pem', inside: '/etc/rhsm/ca/katello-server-ca.pem' },
    // [main]'s CA: a host path. The entitlement files and the extra cert are provided above;
    // a relative path and one dnf expands are dnf's to resolve.
    { source: '/srv/pki/ca.pem', inside: '/srv/pki/ca.pem' },
  ]);
  assert.deepEqual(bootstrapCertBinds({ ...mockDefaults, copiedTrustDirs: [] }, parseDnfConf('[main]\n')), []);
});
