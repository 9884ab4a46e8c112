/**
 * The host's certificates that dnf inside a bootstrap sees, bound read-only
 * where Mock copies or binds them, so that a repository's TLS settings mean
 * the same with a bootstrap as without one:
 *
 * - `ssl_copied_ca_trust_dirs` (host directory, path inside), the host's CA
 *   bundle at `ssl_ca_bundle_path`, and each `ssl_extra_certs` file in its
 *   directory (Mock's copy_certs and copy_extra_certs);
 * - with `redhat_subscription_required`, /etc/pki/entitlement (Mock's bind
 *   mount) and the Katello CA (Mock's _setup_katello_ca);
 * - beyond Mock: each `sslcacert`, `sslclientcert` and `sslclientkey` of
 *   dnf.conf that none of the above provides, at its own path. isomock's own
 *   requests read those as host paths (net/config-map.ts); with this, dnf in
 *   the bootstrap reads the same files (under Mock it finds nothing there).
 *
 * Only what exists on the host is bound. Data only: the existence check is the
 * caller's, at the moment it mounts.
 */
import { posix } from 'node:path';
import type { DnfConf } from '../config/dnfconf.js';
import type { MockSslOptions } from '../net/config-map.js';

export interface CertBind {
  /** Host file or directory. */
  source: string;
  /** Absolute path inside the bootstrap. */
  inside: string;
}

export interface CertOptions extends MockSslOptions {
  /** config_opts['ssl_copied_ca_trust_dirs']: (host directory, path inside) pairs. */
  copiedTrustDirs: readonly (readonly [string, string])[];
  redhatSubscriptionRequired: boolean;
}

const entitlementDir = '/etc/pki/entitlement';
const katelloCa = '/etc/rhsm/ca/katello-server-ca.pem';

export function bootstrapCertBinds(options: CertOptions, dnfConf: DnfConf): CertBind[] {
  const binds: CertBind[] = options.copiedTrustDirs.map(([source, inside]) => ({ source, inside }));
  if (options.ssl_ca_bundle_path) binds.push({ source: options.hostCaBundle, inside: options.ssl_ca_bundle_path });
  const extra = options.ssl_extra_certs ?? [];
  for (let i = 0; i + 1 < extra.length; i += 2)
    binds.push({ source: extra[i]!, inside: posix.join(extra[i + 1]!, posix.basename(extra[i]!)) });
  if (options.redhatSubscriptionRequired)
    binds.push({ source: entitlementDir, inside: entitlementDir }, { source: katelloCa, inside: katelloCa });
  const provided = (p: string): boolean =>
    binds.some((b) => p === b.inside || p.startsWith(`${b.inside.replace(/\/+$/, '')}/`));
  for (const section of [dnfConf.main, ...dnfConf.repos]) {
    for (const key of ['sslcacert', 'sslclientcert', 'sslclientkey']) {
      const value = section.options.get(key)?.trim();
      if (!value || !posix.isAbsolute(value) || value.includes('$')) continue;
      const path = posix.normalize(value);
      if (!provided(path)) binds.push({ source: path, inside: path });
    }
  }
  return binds;
}
