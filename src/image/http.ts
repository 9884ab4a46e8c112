/**
 * One HTTP(S) request with Node's own client: the registry client needs to see
 * redirects itself (to drop credentials across hosts) and to skip TLS
 * verification for registries marked insecure, which fetch() cannot do.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

export interface HttpRequest {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** Accept any certificate (registries.conf `insecure = true`). */
  insecure?: boolean;
  timeoutMs?: number;
}

export function httpRequest(url: URL, req: HttpRequest = {}): Promise<IncomingMessage> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const r = mod.request(
      url,
      {
        method: req.method ?? 'GET',
        headers: { 'User-Agent': 'isomock', ...req.headers },
        ...(url.protocol === 'https:' && { rejectUnauthorized: !req.insecure }),
      },
      resolve,
    );
    r.setTimeout(req.timeoutMs ?? 60_000, () =>
      r.destroy(new Error(`no answer from ${url.host} in ${(req.timeoutMs ?? 60_000) / 1000} s`)),
    );
    r.on('error', reject);
    r.end();
  });
}

/** Read a whole (small) response body, refusing more than `limit` bytes. */
export async function readBody(res: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.destroy();
      throw new Error(`response larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
