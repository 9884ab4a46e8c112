/**
 * URL identities for the transport: the origin a credential belongs to, and
 * the form of a URL that may be shown. Pure.
 *
 * An origin is scheme, host and port with the default port written out, so
 * `https://h/` and `https://h:443/` are one origin and `http://h/` another:
 * credentials given for one never reach the other. A shown URL has no user
 * info, query string or fragment: presigned URLs carry credentials there.
 */

const defaultPorts: Record<string, string> = { 'http:': '80', 'https:': '443' };

/** `scheme://host:port`, lower-case host, default port explicit. */
export function originOf(url: URL): string {
  const port = url.port || defaultPorts[url.protocol] || '';
  return `${url.protocol}//${url.hostname.toLowerCase()}:${port}`;
}

/** The URL as it may appear in a message, a log or a record: origin and path only. */
export function shownUrl(url: URL | string): string {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return '(an invalid URL)';
  }
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** The host as no_proxy and certs.d name it: brackets off an IPv6 literal. */
export function bareHost(url: URL): string {
  const h = url.hostname.toLowerCase();
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** The port in use, the scheme's default when none is written. */
export function portOf(url: URL): number {
  return Number(url.port || defaultPorts[url.protocol] || 0);
}
