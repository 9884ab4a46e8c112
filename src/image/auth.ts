/**
 * Registry credentials as podman keeps them (containers-auth.json(5)) and the
 * parsing of a registry's WWW-Authenticate challenge.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';

export interface Credentials {
  username: string;
  password: string;
}

/** `registry[/repo...]` keys to credentials, as in auth.json's `auths`. */
export type AuthStore = Map<string, Credentials>;

/**
 * The auth file podman reads: the one the user named (`authFile`, or
 * $REGISTRY_AUTH_FILE as podman's --authfile default), else
 * ${XDG_RUNTIME_DIR}/containers/auth.json, else /run/containers/UID/auth.json.
 */
function authFileToRead(authFile: string | undefined): { file: string; named: boolean } {
  const named = authFile ?? process.env.REGISTRY_AUTH_FILE;
  if (named) return { file: named, named: true };
  if (process.env.XDG_RUNTIME_DIR)
    return { file: join(process.env.XDG_RUNTIME_DIR, 'containers', 'auth.json'), named: false };
  return { file: join('/run/containers', String(process.getuid?.() ?? 0), 'auth.json'), named: false };
}

export function loadAuthFile(authFile?: string): AuthStore {
  const { file, named } = authFileToRead(authFile);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    // A missing file holds no credentials (containers/image reads it so). Only root may
    // enter /run/containers, so for anyone else the default location is unreadable:
    // no credentials either. A file the user named and cannot read is a mistake.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || !named) return new Map();
    throw new IsomockError(
      `${file}: cannot read the registry auth file (${code ?? (err as Error).message})`,
      ExitCode.config,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new IsomockError(`${file}: not valid JSON: ${(err as Error).message}`, ExitCode.config);
  }
  const store: AuthStore = new Map();
  const auths = (data as { auths?: Record<string, { auth?: unknown }> }).auths ?? {};
  for (const [key, entry] of Object.entries(auths)) {
    if (typeof entry?.auth !== 'string') continue;
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0)
      throw new IsomockError(`${file}: the auth of '${key}' is not base64 of user:password`, ExitCode.config);
    store.set(key.replace(/^https?:\/\//, '').replace(/\/$/, ''), {
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
    });
  }
  return store;
}

/** The most specific entry for `registry/repository`, down to the bare registry. */
export function credentialsFor(store: AuthStore, registry: string, repository: string): Credentials | undefined {
  const parts = `${registry}/${repository}`.split('/');
  for (let n = parts.length; n >= 1; n--) {
    const found = store.get(parts.slice(0, n).join('/'));
    if (found) return found;
  }
  return undefined;
}

export function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parse `Bearer realm="...",service="...",scope="..."` (RFC 7235 auth-params). */
export function parseChallenge(header: string): Challenge {
  const m = /^\s*(\S+)\s*(.*)$/.exec(header);
  const scheme = (m?.[1] ?? '').toLowerCase();
  const params: Record<string, string> = {};
  const re = /([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (const p of (m?.[2] ?? '').matchAll(re)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  }
  return { scheme, params };
}
