/**
 * Origin servers for network tests, on 127.0.0.1 only and a free port:
 * plain HTTP or HTTPS (optionally requiring a client certificate signed by
 * a given CA), serving files from memory (single byte ranges) or
 * redirecting every request to another server. Each records what it was
 * sent (credentials, client certificate, proxy traces) so that tests can
 * check where secrets went, and an optional gate refuses requests that did
 * not come the way the test demands (e.g. through the proxy).
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { parseRange } from '../server.js';
import type { KeyPair } from './pki.js';

export interface OriginOptions {
  /**
   * Serve HTTPS with this certificate. `clientCa` asks for a client certificate signed by it:
   * mandatory, or with `clientCertOptional` only recorded (to see whether a client sent one).
   */
  tls?: KeyPair & { clientCa?: string; clientCertOptional?: boolean };
  /** URL path -> body. */
  files?: ReadonlyMap<string, Buffer>;
  /** Answer every request with this redirect to `to` + the request's path and query. */
  redirect?: { to: string; status?: number };
  /** A refusal reason (answered 403) for a request that did not come the required way. */
  gate?: (req: IncomingMessage) => string | undefined;
}

interface OriginRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  status: number;
  authorization?: string;
  proxyAuthorization?: string;
  via?: string;
  userAgent?: string;
  /** The common name of the client certificate presented, if any. */
  clientCert?: string;
  remotePort: number;
  refused?: string;
}

export interface Origin {
  /** Base URL, with a trailing slash. */
  url: string;
  port: number;
  requests: OriginRequest[];
  close(): Promise<void>;
}

function peerName(req: IncomingMessage): string | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  const cn = socket.getPeerCertificate?.()?.subject?.CN;
  return typeof cn === 'string' && cn !== '' ? cn : undefined;
}

export async function startOrigin(opts: OriginOptions): Promise<Origin> {
  const requests: OriginRequest[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const record: OriginRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      status: 0,
      remotePort: req.socket.remotePort ?? 0,
      ...(req.headers.authorization && { authorization: req.headers.authorization }),
      ...(req.headers['proxy-authorization'] && { proxyAuthorization: req.headers['proxy-authorization'] }),
      ...(req.headers.via && { via: req.headers.via }),
      ...(req.headers['user-agent'] && { userAgent: req.headers['user-agent'] }),
    };
    const cn = peerName(req);
    if (cn) record.clientCert = cn;
    requests.push(record);
    const reply = (status: number, headers: Record<string, string | number> = {}, body?: Buffer): void => {
      record.status = status;
      res.writeHead(status, { 'Content-Length': body?.length ?? 0, ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const refused = opts.gate?.(req);
    if (refused) {
      record.refused = refused;
      return reply(403, {}, Buffer.from(`${refused}\n`));
    }
    if (opts.redirect)
      return reply(opts.redirect.status ?? 302, { Location: opts.redirect.to + (req.url ?? '/').slice(1) });
    // Paths as files are named: clients escape '+' (dnf sends %2b).
    const body = opts.files?.get(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!body) return reply(404);
    const range = parseRange(req.headers.range, body.length);
    if (range === 'unsatisfiable') return reply(416, { 'Content-Range': `bytes */${body.length}` });
    if (!range) return reply(200, { 'Accept-Ranges': 'bytes' }, body);
    reply(
      206,
      { 'Content-Range': `bytes ${range.start}-${range.end}/${body.length}` },
      body.subarray(range.start, range.end + 1),
    );
  };
  const server = opts.tls
    ? createHttpsServer(
        {
          cert: readFileSync(opts.tls.cert),
          key: readFileSync(opts.tls.key),
          ...(opts.tls.clientCa && {
            ca: readFileSync(opts.tls.clientCa),
            requestCert: true,
            rejectUnauthorized: !opts.tls.clientCertOptional,
          }),
        },
        handle,
      )
    : createHttpServer(handle);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}/`,
    port,
    requests,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
