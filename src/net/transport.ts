/**
 * The one HTTP(S) transport of isomock, on undici 7 (its own request and
 * agents, not Node's global fetch): per-origin TLS, proxies, redirects,
 * retries, and failures that name their cause (net-error.ts).
 *
 * How callers use it (downloader, repository metadata, the URL check, the
 * registry client):
 * - Make one Transport per set of settings and reuse it: it pools
 *   connections per origin. `close()` it when done.
 *   - repositories: `new Transport(repoTransportOptions(...))` (config-map.ts)
 *     from the repo's dnf.conf section and the environment;
 *   - isolated-repo (no config, untrusted lockfile): options from its command
 *     line and the environment only: `proxy` from `--proxy` (else the
 *     environment), `tls.extraCaFiles` from `--ca-cert` (SSL_CERT_FILE is
 *     read from `env`), `originTls` from `--client-cert-for`
 *     (`clientCertOrigins()` in config-map.ts);
 *   - registries: `originTls` from certs.d (certs-d.ts), per-request `tls`
 *     `{ verify: false }` for an insecure registry.
 * - `request(url, opts)` resolves once the headers of an accepted status
 *   (2xx by default) arrived; the caller consumes or destroys `body`.
 *   Failures before that are retried here (retry-policy.ts); a body cut
 *   later is the caller's to resume (Range) or retry: classify it with
 *   `netErrorFrom(err, url).retryable`. A downloader that caps sizes and
 *   rates does so on `body` and aborts through `signal`.
 * - Credentials: `headers` (Authorization) and `tls` of a request are given
 *   for the origin of its URL and never sent to another one along
 *   redirects; `originTls` entries apply to their own origin wherever a
 *   redirect comes from. Proxy credentials live in the proxy settings and
 *   reach only that proxy. None of them is ever in a message.
 * - `checkUrl()` (url-check.ts) is the calculate step's URL check.
 */
import { readFileSync, existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { Agent, ProxyAgent, buildConnector, request, type Dispatcher } from 'undici';
import { IsomockError } from '../errors.js';
import { checkUrlHost, guardedLookup } from './address-policy.js';
import { discard } from './body.js';
import { NetError, netErrorFrom, oneLine } from './net-error.js';
import { chooseProxy, type Env, type ProxyConfig, type ProxySettings } from './proxy-choice.js';
import { defaultMaxRedirects, headersForHop, isRedirect, redirectTarget, sameOrigin } from './redirect-policy.js';
import { defaultRetryPolicy, parseRetryAfter, retryDelayMs, type RetryPolicy } from './retry-policy.js';
import { originOf, shownUrl } from './url.js';

export interface TlsSettings {
  /** PEM files of the CAs to trust instead of the default trust (dnf's sslcacert). */
  caFiles?: readonly string[];
  /** PEM files trusted on top of the default trust (--ca-cert, certs.d's *.crt). */
  extraCaFiles?: readonly string[];
  /** PEM files of a client certificate and its key (the key may be in the certificate's file). */
  clientCert?: { cert: string; key?: string };
  /** false accepts any server certificate (dnf's sslverify=0, an insecure registry). */
  verify?: boolean;
}

export interface TransportOptions {
  /** Where proxy variables and SSL_CERT_FILE are read: an object, never process.env implicitly. */
  env?: Env;
  /** The configured proxy; absent: the environment's. */
  proxy?: ProxyConfig;
  /** TLS for every origin. */
  tls?: TlsSettings;
  /** TLS for one origin (originOf()), or for every port of a host (`https://host`), over `tls`. */
  originTls?: ReadonlyMap<string, TlsSettings>;
  maxRedirects?: number;
  retry?: Partial<RetryPolicy>;
  connectTimeoutMs?: number;
  /** Longest wait for the response headers. */
  headersTimeoutMs?: number;
  /** Longest silence between two pieces of the body. */
  bodyTimeoutMs?: number;
  /** Connections per origin. */
  connections?: number;
  userAgent?: string;
  /**
   * Refuse link-local addresses (address-policy.ts) on every hop: a literal
   * host before connecting, a name as it resolves. For URLs from a lockfile.
   * Through a proxy, the proxy resolves names: literal hosts are checked.
   */
  refuseLinkLocal?: boolean;
}

export interface RequestOptions {
  method?: 'GET' | 'HEAD';
  /** Sent to the URL's origin; credentials among them never to another origin. */
  headers?: Readonly<Record<string, string>>;
  /** TLS granted to the URL's origin only (e.g. verification off for an insecure registry). */
  tls?: TlsSettings;
  /** Statuses handed to the caller (default 2xx); others are failures. */
  accept?: (status: number) => boolean;
  signal?: AbortSignal;
  retry?: Partial<RetryPolicy>;
  onRetry?: (error: NetError, attempt: number, delayMs: number) => void;
}

export interface TransportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  /** The URL that answered, after redirects. */
  url: URL;
  redirects: number;
}

/** Where Debian and Fedora keep the system's CA bundle (the trust dnf uses). */
const systemBundles = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'];

/** The host's CA bundle, if it has one. */
export function systemCaBundle(): string | undefined {
  return systemBundles.find((p) => existsSync(p));
}

const header = (h: TransportResponse['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The address policy's refusal, wherever undici put it among the causes. */
function linkLocalRefusal(err: unknown): IsomockError | undefined {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++)
    if (e instanceof IsomockError) return e;
  return undefined;
}

export class Transport {
  private readonly dispatchers = new Map<string, Dispatcher>();
  private readonly files = new Map<string, string>();
  private readonly env: Env;
  /**
   * The first error of each failed direct TLS socket, by local port. A TLS 1.3 server refusing a
   * client certificate sends its alert after the handshake; undici then reports "other side
   * closed" and drops the alert, which names the cause.
   */
  private readonly socketErrors = new Map<number, Error>();

  constructor(private readonly opts: TransportOptions = {}) {
    this.env = opts.env ?? {};
  }

  async request(input: string | URL, opts: RequestOptions = {}): Promise<TransportResponse> {
    const first = new URL(input);
    const policy = { ...defaultRetryPolicy, ...this.opts.retry, ...opts.retry };
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.follow(first, opts);
      } catch (err) {
        if (err instanceof IsomockError) throw err;
        const error = netErrorFrom(err, first);
        if (!error.retryable || attempt >= policy.attempts || opts.signal?.aborted) throw error;
        const delay = retryDelayMs(attempt, policy, error.retryAfterMs);
        if (delay === undefined) throw error;
        opts.onRetry?.(error, attempt, delay);
        try {
          await sleep(delay, undefined, { signal: opts.signal });
        } catch {
          throw new NetError('aborted', shownUrl(first), 'aborted');
        }
      }
    }
  }

  /** Close every pooled connection. */
  async close(): Promise<void> {
    const all = [...this.dispatchers.values()];
    this.dispatchers.clear();
    await Promise.all(all.map((d) => d.close()));
  }

  private async follow(first: URL, opts: RequestOptions): Promise<TransportResponse> {
    const maxRedirects = this.opts.maxRedirects ?? defaultMaxRedirects;
    const accept = opts.accept ?? ((s: number) => s >= 200 && s < 300);
    let method = opts.method ?? 'GET';
    let url = first;
    for (let hop = 0; ; hop++) {
      const proxy = chooseProxy(url, this.opts.proxy, this.env);
      const via = proxy && { proxyHost: new URL(proxy.url).host };
      if (this.opts.refuseLinkLocal) checkUrlHost(url.href, false);
      const grant = sameOrigin(first, url) ? opts.tls : undefined;
      const context = { ...via, clientCert: url.protocol === 'https:' && !!this.tlsFor(url, grant).clientCert };
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, {
          method,
          headers: { 'user-agent': this.opts.userAgent ?? 'isomock', ...headersForHop(opts.headers ?? {}, first, url) },
          dispatcher: this.dispatcher(url, proxy, grant),
          // Bigger pieces than undici's 64 KiB: fewer writes per downloaded MiB.
          highWaterMark: 1 << 20,
          ...(opts.signal && { signal: opts.signal }),
        });
      } catch (err) {
        const refusal = linkLocalRefusal(err);
        if (refusal) throw refusal;
        throw netErrorFrom(this.socketError(err) ?? err, url, context);
      }
      const headers = res.headers as TransportResponse['headers'];
      if (isRedirect(res.statusCode)) {
        discard(res.body);
        const next = redirectTarget(header(headers, 'location'), url);
        if (typeof next === 'string') throw new NetError('bad-redirect', shownUrl(url), next);
        if (hop >= maxRedirects)
          throw new NetError('too-many-redirects', shownUrl(first), `more than ${maxRedirects} redirects`);
        if (res.statusCode === 303) method = 'GET';
        url = next;
        continue;
      }
      if (accept(res.statusCode)) return { status: res.statusCode, headers, body: res.body, url, redirects: hop };
      discard(res.body);
      const status = res.statusCode;
      if (status === 407 && via)
        throw new NetError('proxy-auth', shownUrl(url), `the proxy ${via.proxyHost} requires authentication (407)`);
      const retryAfter = parseRetryAfter(header(headers, 'retry-after'), Date.now());
      const reason = oneLine(`HTTP ${status}${via ? ` (through the proxy ${via.proxyHost})` : ''}`);
      throw new NetError('http-status', shownUrl(url), reason, status, retryAfter);
    }
  }

  private socketError(err: unknown): Error | undefined {
    const port = (err as { socket?: { localPort?: number } }).socket?.localPort;
    return port === undefined ? undefined : this.socketErrors.get(port);
  }

  /** undici's connector, noting each socket's first error (see socketErrors). */
  private noteErrors(options: Record<string, unknown>): buildConnector.connector {
    const connect = buildConnector(options);
    return (opts, callback) =>
      connect(opts, (err, socket) => {
        if (socket) {
          const port = socket.localPort;
          socket.prependListener('error', (e: Error) => {
            if (port !== undefined && !this.socketErrors.has(port)) this.socketErrors.set(port, e);
          });
          socket.once('close', () => {
            if (port !== undefined) setTimeout(() => this.socketErrors.delete(port), 1000).unref();
          });
        }
        // undici's callback overloads: an error, or a socket.
        (callback as (e: Error | null, s: typeof socket) => void)(err, socket);
      });
  }

  private readPem(path: string): string {
    let text = this.files.get(path);
    if (text === undefined) {
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        throw new NetError('local-file', path, `cannot read (${code})`);
      }
      this.files.set(path, text);
    }
    return text;
  }

  /** The trust when no CA file is configured: SSL_CERT_FILE, else the system bundle, else Node's own. */
  private defaultCa(): string[] | undefined {
    const named = this.env['SSL_CERT_FILE'];
    if (named) return [this.readPem(named)];
    const system = systemCaBundle();
    return system ? [this.readPem(system)] : undefined;
  }

  private tlsFor(url: URL, grant: TlsSettings | undefined): TlsSettings {
    const table = this.opts.originTls;
    const own = table?.get(originOf(url)) ?? table?.get(`${url.protocol}//${url.hostname.toLowerCase()}`);
    return { ...this.opts.tls, ...own, ...grant };
  }

  /** `target`: options for connecting to a request's host (guarded), not to the configured proxy. */
  private connectOptions(tls: TlsSettings, target = true): Record<string, unknown> {
    const extra = (tls.extraCaFiles ?? []).map((f) => this.readPem(f));
    const base = tls.caFiles?.length ? tls.caFiles.map((f) => this.readPem(f)) : this.defaultCa();
    const ca = base || extra.length ? [...(base ?? []), ...extra] : undefined;
    const cert = tls.clientCert && this.readPem(tls.clientCert.cert);
    const key = tls.clientCert && this.readPem(tls.clientCert.key ?? tls.clientCert.cert);
    return {
      ...(ca && { ca }),
      ...(cert && { cert, key }),
      rejectUnauthorized: tls.verify !== false,
      timeout: this.opts.connectTimeoutMs ?? 30_000,
      ...(target && this.opts.refuseLinkLocal && { lookup: guardedLookup(false) }),
    };
  }

  private dispatcher(url: URL, proxy: ProxySettings | undefined, grant: TlsSettings | undefined): Dispatcher {
    const tls = url.protocol === 'https:' ? this.tlsFor(url, grant) : {};
    const key = JSON.stringify([proxy ?? null, tls]);
    let d = this.dispatchers.get(key);
    if (d) return d;
    const common = {
      headersTimeout: this.opts.headersTimeoutMs ?? 60_000,
      bodyTimeout: this.opts.bodyTimeoutMs ?? 60_000,
      ...(this.opts.connections !== undefined && { connections: this.opts.connections }),
    };
    const connect = this.connectOptions(tls);
    if (proxy) {
      const token =
        proxy.username !== undefined
          ? `Basic ${Buffer.from(`${proxy.username}:${proxy.password ?? ''}`).toString('base64')}`
          : undefined;
      d = new ProxyAgent({
        uri: proxy.url,
        ...(token && { token }),
        requestTls: connect,
        proxyTls: this.connectOptions({}, false),
        // Plain-http targets go as forward-proxy requests (as curl sends them), https ones through CONNECT.
        proxyTunnel: false,
        ...common,
      });
    } else d = new Agent({ connect: this.noteErrors(connect), ...common });
    this.dispatchers.set(key, d);
    return d;
  }
}
