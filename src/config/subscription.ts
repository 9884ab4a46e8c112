/**
 * Mock's subscription_redhat_init(): a config that needs a Red Hat
 * subscription (redhat_subscription_required) and names no key
 * (redhat_subscription_key_id) takes the id of the first key in
 * /etc/pki/entitlement, and fails as Mock fails (exit 3) when that directory
 * is missing or holds no key. Mock's copy from /etc/pki/entitlement-host
 * (inside a Podman container) is not done: isomock writes nothing there.
 */
import { readdirSync, statSync } from 'node:fs';
import { configError } from './source.js';
import { truthy, type PyDict } from '../python/value.js';
import { expandedOption } from './template.js';

export function applySubscription(config: PyDict, entitlementDir = '/etc/pki/entitlement'): void {
  if (!truthy(expandedOption(config, 'redhat_subscription_required') ?? null)) return;
  if ('redhat_subscription_key_id' in config) return;
  let isDir = false;
  try {
    isDir = statSync(entitlementDir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw configError(`${entitlementDir} is not a directory is subscription-manager installed?`);
  const keys = readdirSync(entitlementDir)
    .filter((n) => n.endsWith('-key.pem'))
    .sort();
  if (keys.length === 0) {
    throw configError(
      `No key found in ${entitlementDir} directory.  It means this machine is not subscribed.  Please use subscription-manager register`,
    );
  }
  config['redhat_subscription_key_id'] = keys[0]!.split('-')[0]!;
}
