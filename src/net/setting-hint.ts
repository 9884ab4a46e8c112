/**
 * Which option a failed isolated-repo download needs, from what the record
 * says the calculate step used for that origin (lockfile/record.ts
 * `network`): isolated-repo takes no config, so a repository reached
 * through a proxy, with a CA of its own or with a client certificate needs
 * it given again on its command line or in the environment. Pure.
 */
import type { NetworkNote } from '../lockfile/record.js';
import type { FailureKind, NetError } from './net-error.js';

/** Failures a missing proxy can cause: the repository is not reachable direct. */
const unreachable: ReadonlySet<FailureKind> = new Set([
  'refused',
  'timeout',
  'dns',
  'dns-temporary',
  'reset',
  'http-status',
]);
const untrusted: ReadonlySet<FailureKind> = new Set(['tls-unknown-ca', 'tls-self-signed']);
const noCert: ReadonlySet<FailureKind> = new Set(['tls-cert-required', 'tls-cert-refused', 'reset']);

/** The hint, or undefined when the record says nothing that explains the failure. */
export function downloadHint(
  error: NetError,
  origin: string | undefined,
  network: Readonly<Record<string, readonly NetworkNote[]>> | undefined,
): string | undefined {
  if (origin === undefined) return undefined;
  const notes = network?.[origin];
  if (!notes) return undefined;
  const host = new URL(origin).host;
  if (notes.includes('client-cert') && noCert.has(error.kind))
    return `calculate used a client certificate for ${origin}: give --client-cert-for ${host} CERT [KEY]`;
  if (notes.includes('ca') && untrusted.has(error.kind))
    return `calculate trusted a CA of its own for ${origin} (sslcacert): give --ca-cert FILE or SSL_CERT_FILE`;
  if (notes.includes('proxy') && unreachable.has(error.kind))
    return `calculate reached ${origin} through a proxy: give --proxy URL or set ${origin.startsWith('https:') ? 'https_proxy' : 'http_proxy'}`;
  return undefined;
}
