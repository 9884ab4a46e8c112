/**
 * A client for the OCI distribution API (the registry HTTP API v2): manifests
 * and blobs, with basic and bearer-token authentication, mirrors and insecure
 * registries from registries.conf, retries, and redirects that never carry
 * credentials to another host.
 */
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, IsomockError } from '../errors.js';
import { basicHeader, credentialsFor, parseChallenge, type AuthStore } from './auth.js';
import { httpRequest, readBody } from './http.js';
import { manifestAccept, sha256Digest, type Descriptor } from './manifest.js';
import { formatReference, manifestSelector, type ImageReference } from './reference.js';
import { findRegistry, type RegistriesConf } from './registries-conf.js';
import type { BlobStore } from './store.js';

/**
 * A registry on this machine's loopback may speak plain HTTP without being
 * listed as insecure, as Docker treats 127.0.0.0/8: nothing else can sit
 * between isomock and it. TLS is still tried first.
 */
export function isLoopback(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

export interface ClientOptions {
  conf: RegistriesConf;
  auth: AuthStore;
  /** Attempts per request on network errors, 429 and 5xx. */
  attempts?: number;
}

export interface FetchedManifest {
  bytes: Buffer;
  contentType: string;
  digest: string;
}

interface Endpoint {
  host: string;
  repository: string;
  insecure: boolean;
}

const maxManifestBytes = 4 * 1024 * 1024;
const maxRedirects = 10;

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function retryable(err: unknown): boolean {
  if (err instanceof HttpStatusError) return err.status === 429 || err.status >= 500;
  return !(err instanceof IsomockError);
}

export class RegistryClient {
  private readonly schemes = new Map<string, 'https:' | 'http:'>();
  private readonly tokens = new Map<string, string>();
  private readonly attempts: number;

  constructor(private readonly opts: ClientOptions) {
    this.attempts = opts.attempts ?? 3;
  }

  /** Mirrors first, then the registry itself, as podman tries them. */
  private endpoints(ref: ImageReference): Endpoint[] {
    const entry = findRegistry(this.opts.conf, ref);
    const full = `${ref.registry}/${ref.repository}`;
    if (!entry) return [{ host: ref.registry, repository: ref.repository, insecure: isLoopback(ref.registry) }];
    if (entry.blocked)
      throw new IsomockError(
        `registry ${entry.prefix} is blocked in registries.conf (${formatReference(ref)})`,
        ExitCode.config,
      );
    const rest = entry.prefix.startsWith('*.') ? full.slice(ref.registry.length) : full.slice(entry.prefix.length);
    const at = (location: string, insecure: boolean): Endpoint => {
      const target = entry.prefix.startsWith('*.') ? ref.registry + rest : location + rest;
      const slash = target.indexOf('/');
      const host = target.slice(0, slash);
      return { host, repository: target.slice(slash + 1), insecure: insecure || isLoopback(host) };
    };
    return [...entry.mirrors.map((m) => at(m.location, m.insecure)), at(entry.location, entry.insecure)];
  }

  async getManifest(ref: ImageReference, selector = manifestSelector(ref)): Promise<FetchedManifest> {
    const what = `${formatReference(ref)} (manifest ${selector})`;
    const res = await this.fromAnyEndpoint(ref, what, `manifests/${selector}`, { Accept: manifestAccept });
    let bytes: Buffer;
    try {
      bytes = await readBody(res, maxManifestBytes);
    } catch (err) {
      throw new IsomockError(`${what}: ${(err as Error).message}`, ExitCode.bootstrap);
    }
    const digest = sha256Digest(bytes);
    if (selector.startsWith('sha256:') && digest !== selector) {
      throw new IsomockError(`${what}: the registry sent a manifest with digest ${digest}`, ExitCode.bootstrap);
    }
    return { bytes, contentType: String(res.headers['content-type'] ?? ''), digest };
  }

  /** Download a blob into the store unless it is already there; verified as it streams. */
  async fetchBlob(ref: ImageReference, desc: Descriptor, store: BlobStore): Promise<boolean> {
    if (store.has(desc.digest, desc.size)) return false;
    const what = `${formatReference(ref)} (blob ${desc.digest})`;
    await this.withRetries(async () => {
      const res = await this.fromAnyEndpoint(ref, what, `blobs/${desc.digest}`, {}, 1);
      await store.write(desc.digest, desc.size, res, what);
    });
    return true;
  }

  private async fromAnyEndpoint(
    ref: ImageReference,
    what: string,
    path: string,
    headers: Record<string, string>,
    attempts = this.attempts,
  ): Promise<IncomingMessage> {
    let last: unknown;
    for (const ep of this.endpoints(ref)) {
      try {
        return await this.withRetries(() => this.get(ep, path, headers), attempts);
      } catch (err) {
        last = err;
      }
    }
    if (last instanceof IsomockError) throw last;
    if (last instanceof HttpStatusError && last.status === 404)
      throw new IsomockError(`${what}: not found in the registry`, ExitCode.bootstrap);
    throw new IsomockError(`${what}: ${(last as Error).message}`, ExitCode.bootstrap);
  }

  private async withRetries<T>(fn: () => Promise<T>, attempts = this.attempts): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if (i >= attempts || !retryable(err)) throw err;
        await sleep(200 * 2 ** (i - 1));
      }
    }
  }

  /** Insecure registries: try TLS without verification, then plain HTTP (as containers/image does). */
  private async baseUrl(ep: Endpoint): Promise<string> {
    const known = this.schemes.get(ep.host);
    if (known) return `${known}//${ep.host}`;
    if (!ep.insecure) return `https://${ep.host}`;
    try {
      const res = await httpRequest(new URL(`https://${ep.host}/v2/`), {
        method: 'HEAD',
        insecure: true,
        timeoutMs: 10_000,
      });
      res.resume();
      this.schemes.set(ep.host, 'https:');
    } catch {
      this.schemes.set(ep.host, 'http:');
    }
    return `${this.schemes.get(ep.host)}//${ep.host}`;
  }

  private async get(ep: Endpoint, path: string, headers: Record<string, string>): Promise<IncomingMessage> {
    const scopeKey = `${ep.host}/${ep.repository}`;
    let url = new URL(`${await this.baseUrl(ep)}/v2/${ep.repository}/${path}`);
    let authTried = false;
    for (let hop = 0; hop <= maxRedirects; hop++) {
      const auth = url.host === ep.host ? this.tokens.get(scopeKey) : undefined;
      const res = await httpRequest(url, {
        headers: { ...headers, ...(auth !== undefined && { Authorization: auth }) },
        insecure: ep.insecure,
      });
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        url = new URL(res.headers.location, url);
        continue;
      }
      if (status === 401 && !authTried && url.host === ep.host) {
        res.resume();
        authTried = true;
        this.tokens.set(scopeKey, await this.authorize(ep, String(res.headers['www-authenticate'] ?? '')));
        hop--;
        continue;
      }
      if (status !== 200) {
        const body = (await readBody(res, 64 * 1024).catch(() => Buffer.alloc(0)))
          .toString('utf8')
          .trim()
          .slice(0, 300);
        if (status === 401 || status === 403)
          throw new IsomockError(
            `access denied by ${ep.host} (HTTP ${status}) for ${url.pathname}${body ? `: ${body}` : ''}`,
            ExitCode.bootstrap,
          );
        throw new HttpStatusError(status, `HTTP ${status} from ${url.host}${url.pathname}${body ? `: ${body}` : ''}`);
      }
      return res;
    }
    throw new IsomockError(`too many redirects from ${ep.host} for ${path}`, ExitCode.bootstrap);
  }

  /** Answer a 401 challenge: basic credentials, or a bearer token from the realm. */
  private async authorize(ep: Endpoint, header: string): Promise<string> {
    const creds = credentialsFor(this.opts.auth, ep.host, ep.repository);
    const { scheme, params } = parseChallenge(header);
    if (scheme === 'basic') {
      if (!creds)
        throw new IsomockError(
          `${ep.host} wants a login and the auth file has none for ${ep.host}/${ep.repository}`,
          ExitCode.bootstrap,
        );
      return basicHeader(creds);
    }
    if (scheme !== 'bearer' || !params.realm)
      throw new IsomockError(`${ep.host} asks for unsupported authentication '${header}'`, ExitCode.bootstrap);
    const realm = new URL(params.realm);
    if (params.service) realm.searchParams.set('service', params.service);
    realm.searchParams.set('scope', params.scope ?? `repository:${ep.repository}:pull`);
    const res = await httpRequest(realm, {
      headers: creds ? { Authorization: basicHeader(creds) } : {},
      insecure: ep.insecure,
    });
    const body = await readBody(res, 1024 * 1024);
    if (res.statusCode !== 200)
      throw new IsomockError(
        `token server ${realm.host} refused (HTTP ${res.statusCode}) for ${ep.host}/${ep.repository}`,
        ExitCode.bootstrap,
      );
    let token: unknown;
    try {
      const doc = JSON.parse(body.toString('utf8')) as { token?: unknown; access_token?: unknown };
      token = doc.token ?? doc.access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token === '')
      throw new IsomockError(
        `token server ${realm.host} sent no token for ${ep.host}/${ep.repository}`,
        ExitCode.bootstrap,
      );
    return `Bearer ${token}`;
  }
}
