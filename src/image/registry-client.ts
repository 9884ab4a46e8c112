/**
 * A client for the OCI distribution API (the registry HTTP API v2): manifests
 * and blobs, with basic and bearer-token authentication, mirrors and insecure
 * registries from registries.conf, TLS from certs.d as podman reads it,
 * proxies from the environment, and retries and redirects by the shared
 * transport (src/net/), which never carries credentials or a client
 * certificate to another origin.
 */
import { readCertsD, defaultCertsDRoots, CertsDError } from '../net/certs-d.js';
import { readBody, discard } from '../net/body.js';
import { NetError, netErrorFrom, oneLine } from '../net/net-error.js';
import type { Env } from '../net/proxy-choice.js';
import { retryDelayMs, defaultRetryPolicy } from '../net/retry-policy.js';
import { Transport, type TlsSettings, type TransportResponse } from '../net/transport.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, IsomockError } from '../errors.js';
import { basicHeader, credentialsFor, parseChallenge, type AuthStore } from './auth.js';
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
  /** Proxy variables (http_proxy, https_proxy, no_proxy) and SSL_CERT_FILE, as podman reads them. */
  env?: Env;
  /** Where certs.d directories are looked for (default: podman's). */
  certsDRoots?: readonly string[];
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

export class RegistryClient {
  private readonly schemes = new Map<string, 'https:' | 'http:'>();
  private readonly tokens = new Map<string, string>();
  private readonly tls = new Map<string, TlsSettings>();
  private readonly attempts: number;
  private readonly transport: Transport;

  constructor(private readonly opts: ClientOptions) {
    this.attempts = opts.attempts ?? 3;
    this.transport = new Transport({ env: opts.env ?? {}, retry: { attempts: this.attempts } });
  }

  /** Close the pooled connections. */
  close(): Promise<void> {
    return this.transport.close();
  }

  /** TLS granted to an endpoint's origin: its certs.d directory, verification off when insecure. */
  private tlsFor(ep: Endpoint): TlsSettings {
    let tls = this.tls.get(ep.host);
    if (!tls) {
      try {
        tls = readCertsD(ep.host, this.opts.certsDRoots ?? defaultCertsDRoots(this.opts.env ?? {})) ?? {};
      } catch (err) {
        if (err instanceof CertsDError) throw new IsomockError(err.message, ExitCode.config);
        throw err;
      }
      if (ep.insecure) tls = { ...tls, verify: false };
      this.tls.set(ep.host, tls);
    }
    return tls;
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
      bytes = await readBody(res.body, maxManifestBytes);
    } catch (err) {
      throw new IsomockError(`${what}: ${netErrorFrom(err, res.url).message}`, ExitCode.bootstrap);
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
    // The transport retries until the headers; a body cut later is retried here, from the start.
    for (let attempt = 1; ; attempt++) {
      const res = await this.fromAnyEndpoint(ref, what, `blobs/${desc.digest}`, {});
      try {
        await store.write(desc.digest, desc.size, res.body, what);
        return true;
      } catch (err) {
        if (err instanceof IsomockError) throw err;
        const failure = netErrorFrom(err, res.url);
        const delay = retryDelayMs(attempt, defaultRetryPolicy);
        if (!failure.retryable || attempt >= this.attempts || delay === undefined)
          throw new IsomockError(`${what}: ${failure.message}`, ExitCode.bootstrap);
        await sleep(delay);
      }
    }
  }

  private async fromAnyEndpoint(
    ref: ImageReference,
    what: string,
    path: string,
    headers: Record<string, string>,
  ): Promise<TransportResponse> {
    let last: unknown;
    for (const ep of this.endpoints(ref)) {
      try {
        return await this.get(ep, path, headers);
      } catch (err) {
        last = err;
      }
    }
    if (last instanceof IsomockError) throw last;
    if (last instanceof NetError && last.status === 404)
      throw new IsomockError(`${what}: not found in the registry`, ExitCode.bootstrap);
    throw new IsomockError(`${what}: ${(last as Error).message}`, ExitCode.bootstrap);
  }

  /** Insecure registries: try TLS without verification, then plain HTTP (as containers/image does). */
  private async baseUrl(ep: Endpoint): Promise<string> {
    const known = this.schemes.get(ep.host);
    if (known) return `${known}//${ep.host}`;
    if (!ep.insecure) return `https://${ep.host}`;
    try {
      const res = await this.transport.request(`https://${ep.host}/v2/`, {
        method: 'HEAD',
        tls: this.tlsFor(ep),
        accept: () => true,
        retry: { attempts: 1 },
      });
      discard(res.body);
      this.schemes.set(ep.host, 'https:');
    } catch (err) {
      // A TLS failure with verification off (a client certificate wanted or refused) means the
      // server speaks TLS: plain HTTP would only hide the cause behind a 400.
      const kind = netErrorFrom(err, ep.host).kind;
      this.schemes.set(ep.host, kind === 'tls-cert-required' || kind === 'tls-cert-refused' ? 'https:' : 'http:');
    }
    return `${this.schemes.get(ep.host)}//${ep.host}`;
  }

  /**
   * GET from an endpoint, answering one 401 challenge. The transport follows redirects and
   * drops the Authorization header (and the certs.d grant) on a hop to another origin.
   */
  private async get(ep: Endpoint, path: string, headers: Record<string, string>): Promise<TransportResponse> {
    const scopeKey = `${ep.host}/${ep.repository}`;
    const url = `${await this.baseUrl(ep)}/v2/${ep.repository}/${path}`;
    for (let authTried = false; ; authTried = true) {
      const auth = this.tokens.get(scopeKey);
      const res = await this.transport.request(url, {
        headers: { ...headers, ...(auth !== undefined && { Authorization: auth }) },
        tls: this.tlsFor(ep),
        accept: (s) => s === 200 || s === 401 || s === 403,
      });
      if (res.status === 401 && !authTried && res.url.host === ep.host) {
        discard(res.body);
        this.tokens.set(scopeKey, await this.authorize(ep, String(res.headers['www-authenticate'] ?? '')));
        continue;
      }
      if (res.status === 200) return res;
      const body = (await readBody(res.body, 64 * 1024).catch(() => Buffer.alloc(0))).toString('utf8');
      const detail = oneLine(body);
      throw new IsomockError(
        `access denied by ${ep.host} (HTTP ${res.status}) for ${res.url.pathname}${detail ? `: ${detail}` : ''}`,
        ExitCode.bootstrap,
      );
    }
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
    let body: Buffer;
    try {
      const res = await this.transport.request(realm, {
        headers: creds ? { Authorization: basicHeader(creds) } : {},
        ...(ep.insecure && { tls: { verify: false } }),
      });
      body = await readBody(res.body, 1024 * 1024);
    } catch (err) {
      const failure = netErrorFrom(err, realm);
      if (failure.kind === 'http-status')
        throw new IsomockError(
          `token server ${realm.host} refused (HTTP ${failure.status}) for ${ep.host}/${ep.repository}`,
          ExitCode.bootstrap,
        );
      throw new IsomockError(`token server for ${ep.host}/${ep.repository}: ${failure.message}`, ExitCode.bootstrap);
    }
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
