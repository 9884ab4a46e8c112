/**
 * Transport failures as one line that names the cause, and their kind (for
 * retry decisions and for the caller's hint: which setting to give). Pure:
 * it reads the error objects Node and undici throw, nothing else.
 *
 * Worth retrying: the server or the path to it failing for now (5xx but 501
 * and 505, 408, 429, a reset or cut connection, a timeout, a name lookup
 * that failed for now). Never: TLS verification, a client certificate
 * refused, proxy authentication, other 4xx, too many redirects, a local
 * file (a full disk included), an abort: the next attempt would fail the
 * same way.
 *
 * The message names the URL only as shownUrl() gives it (no user info, no
 * query string), and the proxy by its host only.
 */
import { shownUrl } from './url.js';

export type FailureKind =
  | 'tls-unknown-ca'
  | 'tls-self-signed'
  | 'tls-expired'
  | 'tls-hostname'
  | 'tls-cert-required'
  | 'tls-cert-refused'
  | 'tls-other'
  | 'proxy-refused'
  | 'proxy-auth'
  | 'proxy-status'
  | 'too-many-redirects'
  | 'bad-redirect'
  | 'refused'
  | 'reset'
  | 'timeout'
  | 'dns'
  | 'dns-temporary'
  | 'http-status'
  | 'local-file'
  | 'aborted'
  | 'other';

const retryableKinds: ReadonlySet<FailureKind> = new Set(['reset', 'timeout', 'dns-temporary']);

export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

export function isRetryable(kind: FailureKind, status?: number): boolean {
  if (kind === 'http-status' || kind === 'proxy-status') return status !== undefined && retryableStatus(status);
  return retryableKinds.has(kind);
}

export class NetError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly kind: FailureKind,
    /** shownUrl() of the request that failed. */
    readonly url: string,
    /** The cause alone, without the URL. */
    readonly reason: string,
    readonly status?: number,
    /** Retry-After of a 429/503, in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(`${url}: ${reason}`);
    this.name = 'NetError';
    this.retryable = isRetryable(kind, status);
  }
}

interface Described {
  kind: FailureKind;
  cause: string;
}

const tlsCodes: Record<string, Described> = {
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: {
    kind: 'tls-unknown-ca',
    cause: "the server's certificate is signed by an unknown CA",
  },
  UNABLE_TO_GET_ISSUER_CERT: { kind: 'tls-unknown-ca', cause: "the server's certificate is signed by an unknown CA" },
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: {
    kind: 'tls-unknown-ca',
    cause: "the server's certificate is signed by an unknown CA",
  },
  SELF_SIGNED_CERT_IN_CHAIN: {
    kind: 'tls-self-signed',
    cause: "the server's certificate chain ends in an untrusted self-signed CA",
  },
  DEPTH_ZERO_SELF_SIGNED_CERT: {
    kind: 'tls-self-signed',
    cause: "the server's certificate is self-signed and not trusted",
  },
  CERT_HAS_EXPIRED: { kind: 'tls-expired', cause: "the server's certificate has expired" },
  CERT_NOT_YET_VALID: { kind: 'tls-expired', cause: "the server's certificate is not valid yet" },
  ERR_TLS_CERT_ALTNAME_INVALID: { kind: 'tls-hostname', cause: "the server's certificate is for another host name" },
  CERT_REVOKED: { kind: 'tls-other', cause: "the server's certificate is revoked" },
};

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The error and its causes, outermost first (undici wraps socket errors). */
function chain(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = err; e !== undefined && e !== null && out.length < 8; e = (e as { cause?: unknown }).cause)
    out.push(e);
  return out;
}

/** Only the first line, control characters out: error texts can carry server-sent bytes. */
export function oneLine(text: string, max = 300): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** How the request was made: through which proxy, with or without a client certificate. */
export interface RequestContext {
  proxyHost?: string;
  clientCert?: boolean;
}

function describe(err: unknown, via: RequestContext): Described {
  const errors = chain(err);
  for (const e of errors) {
    const code = codeOf(e) ?? '';
    const message = String((e as Error)?.message ?? '');
    const tls = tlsCodes[code];
    if (tls) return tls;
    if (/certificate required/i.test(message) || code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')
      return { kind: 'tls-cert-required', cause: 'the server requires a client certificate' };
    if (/handshake failure/i.test(message) && /alert/i.test(message))
      return {
        kind: 'tls-cert-required',
        cause: 'the server ended the TLS handshake (a client certificate may be required)',
      };
    if (/alert (unknown ca|bad certificate|certificate unknown|decrypt error|access denied)/i.test(message))
      // Some servers (Go's) answer a missing certificate with the alert for a bad one.
      return via.clientCert === false
        ? { kind: 'tls-cert-required', cause: 'the server requires a client certificate' }
        : { kind: 'tls-cert-refused', cause: 'the server refused the client certificate' };
    if (/^ERR_SSL_|^ERR_OSSL_/.test(code))
      return { kind: 'tls-other', cause: `TLS failure (${oneLine(message, 120)})` };
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || /PEM|no start line/i.test(message))
      return { kind: 'local-file', cause: oneLine(message) };
  }
  const codes = errors.map(codeOf);
  const messages = errors.map((e) => String((e as Error)?.message ?? ''));
  const proxyMessage = messages.find((m) => /^Proxy response \((\d+)\)|Proxy Authentication Required/.test(m));
  if (proxyMessage) {
    const status = Number(/\((\d+)\)/.exec(proxyMessage)?.[1]);
    if (status === 407)
      return { kind: 'proxy-auth', cause: `the proxy ${via.proxyHost} requires authentication (407)` };
    return { kind: 'proxy-status', cause: `the proxy ${via.proxyHost} refused the tunnel (HTTP ${status})` };
  }
  const has = (...wanted: string[]): boolean => codes.some((c) => c !== undefined && wanted.includes(c));
  if (has('ABORT_ERR', 'UND_ERR_ABORTED') || errors.some((e) => (e as Error)?.name === 'AbortError'))
    return { kind: 'aborted', cause: 'aborted' };
  if (has('ECONNREFUSED')) {
    const port = errors.map((e) => (e as { port?: unknown }).port).find((p) => p !== undefined);
    if (via.proxyHost && via.proxyHost.endsWith(`:${port}`))
      return { kind: 'proxy-refused', cause: `the proxy ${via.proxyHost} refused the connection` };
    return { kind: 'refused', cause: 'connection refused' };
  }
  if (has('ENOTFOUND')) return { kind: 'dns', cause: 'unknown host name' };
  if (has('EAI_AGAIN')) return { kind: 'dns-temporary', cause: 'host name lookup failed for now' };
  if (has('UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT')) return { kind: 'timeout', cause: 'connection timed out' };
  if (has('UND_ERR_HEADERS_TIMEOUT')) return { kind: 'timeout', cause: 'no answer in time' };
  if (has('UND_ERR_BODY_TIMEOUT')) return { kind: 'timeout', cause: 'the body stalled' };
  if (has('ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'))
    return { kind: 'reset', cause: 'connection reset or closed by the other side' };
  return { kind: 'other', cause: oneLine(messages[messages.length - 1] ?? String(err)) };
}

/** A NetError naming the cause of `err` for a request to `url`. */
export function netErrorFrom(err: unknown, url: URL | string, via: RequestContext = {}): NetError {
  if (err instanceof NetError) return err;
  const { kind, cause } = describe(err, via);
  return new NetError(kind, shownUrl(url), cause);
}
