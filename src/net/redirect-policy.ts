/**
 * Following a redirect: where it may go and which request headers go with
 * it. Pure.
 *
 * Credentials (Authorization, Cookie) go only to the origin they were given
 * for: a hop to any other origin (another host, port or scheme) drops them,
 * and a hop back to the first origin gets them again. Proxy credentials are
 * the transport's, per proxy, never request headers. Only http and https
 * targets are followed; 303 turns the method into GET.
 */
import { originOf } from './url.js';

export const defaultMaxRedirects = 10;

const redirectStatuses: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const credentialHeaders: ReadonlySet<string> = new Set(['authorization', 'cookie', 'proxy-authorization']);

export function isRedirect(status: number): boolean {
  return redirectStatuses.has(status);
}

/** The next URL, or a reason it cannot be followed. */
export function redirectTarget(location: string | undefined, from: URL): URL | string {
  if (location === undefined || location === '') return 'a redirect without a Location';
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    return 'a redirect to an invalid URL';
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') return `a redirect to a ${next.protocol} URL`;
  next.hash = '';
  return next;
}

/** The headers for a hop to `to`, given the headers the caller gave for `first`. */
export function headersForHop(given: Readonly<Record<string, string>>, first: URL, to: URL): Record<string, string> {
  const sameOrigin = originOf(first) === originOf(to);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(given))
    if (sameOrigin || !credentialHeaders.has(name.toLowerCase())) out[name] = value;
  return out;
}

/** True when the per-origin grants (client certificate, relaxed verification) of `first` apply to `to`. */
export function sameOrigin(first: URL, to: URL): boolean {
  return originOf(first) === originOf(to);
}
