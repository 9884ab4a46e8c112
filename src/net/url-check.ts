/**
 * Is this URL there? The calculate step's check of each locked package:
 * `GET` with `Range: bytes=0-0` (presigned CDN targets of a redirect often
 * refuse HEAD), through the transport's redirects, and the final origin and
 * path (never the query string: presigned URLs carry credentials there).
 */
import { discard } from './body.js';
import type { RequestOptions, Transport } from './transport.js';
import { shownUrl } from './url.js';

export interface UrlCheck {
  /** shownUrl() of the URL that answered. */
  finalUrl: string;
  redirected: boolean;
  /** The size the server announced (Content-Range's total, or a 200's Content-Length). */
  size?: number;
}

export async function checkUrl(
  transport: Transport,
  url: string | URL,
  opts: Pick<RequestOptions, 'headers' | 'tls' | 'signal' | 'retry'> = {},
): Promise<UrlCheck> {
  const res = await transport.request(url, {
    ...opts,
    headers: { ...opts.headers, range: 'bytes=0-0' },
    accept: (s) => s === 200 || s === 206,
  });
  // A 200 is the whole file: one byte was asked for, the rest is not wanted.
  discard(res.body);
  const range = /\/(\d+)\s*$/.exec(String(res.headers['content-range'] ?? ''));
  const length = res.status === 200 ? Number(res.headers['content-length']) : NaN;
  const size = range ? Number(range[1]) : Number.isFinite(length) ? length : undefined;
  return { finalUrl: shownUrl(res.url), redirected: res.redirects > 0, ...(size !== undefined && { size }) };
}
