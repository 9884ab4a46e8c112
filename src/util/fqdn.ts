/**
 * The host's fully qualified name exactly as Python's socket.getfqdn() gives
 * it (Mock's %_buildhost): the first address getaddrinfo() returns for
 * gethostname(), then gethostbyaddr() of that address; the first of its name
 * and aliases that contains a dot, else its name; gethostname() itself when a
 * lookup fails. Both lookups go through the C library's NSS, as Python's do,
 * by getent (libc-bin, always present on Debian). Computed once per process.
 */
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';

function getent(database: string, key: string): string[] | undefined {
  const r = spawnSync('getent', [database, key], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0 || typeof r.stdout !== 'string') return undefined;
  const first = r.stdout.split('\n')[0]?.trim();
  return first ? first.split(/\s+/) : undefined;
}

let cached: string | undefined;

export function hostFqdn(): string {
  if (cached !== undefined) return cached;
  const name = hostname();
  // getent ahosts lists getaddrinfo()'s answers in its order: "ADDRESS SOCKTYPE [NAME]".
  const address = getent('ahosts', name)?.[0];
  // getent hosts ADDRESS is gethostbyaddr(): "ADDRESS NAME ALIAS...".
  const names = address === undefined ? undefined : getent('hosts', address)?.slice(1);
  cached = names && names.length > 0 ? (names.find((n) => n.includes('.')) ?? names[0]!) : name;
  return cached;
}
