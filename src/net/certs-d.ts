/**
 * A registry's TLS settings from `certs.d/HOST[:PORT]/` as podman (through
 * containers/image) reads it: the first of $HOME/.config/containers/certs.d,
 * /etc/containers/certs.d and /etc/docker/certs.d that has a directory named
 * exactly as the reference writes the registry (with its port only if the
 * reference has one). In it, every `*.crt` is a CA added to the default
 * trust, and each `NAME.cert` is a client certificate whose key is
 * `NAME.key` (a certificate without its key, or a key without its
 * certificate, is an error, as podman makes it). `certsDSettings` is the
 * pure part; `readCertsD` lists the directory.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TlsSettings } from './transport.js';

export class CertsDError extends Error {}

export function defaultCertsDRoots(env: Readonly<Record<string, string | undefined>>): string[] {
  return [
    ...(env['HOME'] ? [join(env['HOME'], '.config/containers/certs.d')] : []),
    '/etc/containers/certs.d',
    '/etc/docker/certs.d',
  ];
}

/** The settings a certs.d directory holding `files` gives (names sorted, as containers/image reads them). */
export function certsDSettings(dir: string, files: readonly string[]): TlsSettings {
  const names = [...files].sort();
  const has = new Set(names);
  const ca = names.filter((f) => f.endsWith('.crt')).map((f) => join(dir, f));
  let clientCert: TlsSettings['clientCert'];
  for (const f of names) {
    if (f.endsWith('.cert')) {
      const key = `${f.slice(0, -'.cert'.length)}.key`;
      if (!has.has(key)) throw new CertsDError(`${join(dir, f)}: missing its key ${key} (CA certificates are *.crt)`);
      clientCert ??= { cert: join(dir, f), key: join(dir, key) };
    } else if (f.endsWith('.key') && !has.has(`${f.slice(0, -'.key'.length)}.cert`))
      throw new CertsDError(`${join(dir, f)}: missing its client certificate ${f.slice(0, -'.key'.length)}.cert`);
  }
  return { ...(ca.length > 0 && { extraCaFiles: ca }), ...(clientCert && { clientCert }) };
}

/** The TLS settings for `registry` (host or host:port as in the reference), or undefined when no directory has it. */
export function readCertsD(registry: string, roots: readonly string[]): TlsSettings | undefined {
  for (const root of roots) {
    const dir = join(root, registry);
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A directory this user may not enter holds nothing for it (as auth.ts treats the default
      // auth file): a user's run with root's HOME must not fail on /root/.config.
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES') continue;
      throw new CertsDError(`${dir}: cannot read (${code ?? (err as Error).message})`);
    }
    return certsDSettings(dir, files);
  }
  return undefined;
}
