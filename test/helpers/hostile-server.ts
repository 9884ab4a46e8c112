/**
 * A hostile HTTP server on 127.0.0.1 (a free port) for the download limits:
 * per path it serves the right bytes, an endless body, nothing at all
 * (stalled before its headers), a body that stops, a trickle, more bytes than
 * the file has, or a storm of 5xx. It counts connections and requests so a
 * test can show that nothing was asked, and close() ends every socket.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Behaviour =
  | { kind: 'file'; bytes: Buffer }
  /** 200 with no length, chunks of zeros forever, `chunk` bytes every `everyMs`. */
  | { kind: 'endless'; chunk: number; everyMs: number }
  | { kind: 'stall-headers' }
  /** The full length announced, `after` bytes sent, then silence. */
  | { kind: 'stall-body'; bytes: Buffer; after: number }
  /** The full length announced, one byte every `everyMs`. */
  | { kind: 'trickle'; bytes: Buffer; everyMs: number }
  /** The file and `extra` bytes more, announced as such when `announce`, else with no length. */
  | { kind: 'oversize'; bytes: Buffer; extra: number; announce: boolean }
  /** `status` for the first `times` requests (every one when times is Infinity), then the file. */
  | { kind: 'storm'; status: number; times: number; bytes: Buffer };

export interface HostileServer {
  url: string;
  /** TCP connections accepted so far. */
  connections: () => number;
  /** Paths requested, in order. */
  requests: string[];
  serve(path: string, behaviour: Behaviour): void;
  close(): Promise<void>;
}

export async function startHostileServer(): Promise<HostileServer> {
  const behaviours = new Map<string, Behaviour>();
  const storms = new Map<string, number>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const requests: string[] = [];
  let connections = 0;

  const every = (ms: number, fn: () => void): NodeJS.Timeout => {
    const t = setInterval(fn, ms);
    timers.add(t);
    return t;
  };
  const stop = (t: NodeJS.Timeout): void => {
    clearInterval(t);
    timers.delete(t);
  };
  /** Sends bytes one slice every ms; resolves nothing, the socket's end stops it. */
  const drip = (res: ServerResponse, bytes: Buffer, size: number, ms: number): void => {
    let at = 0;
    const t = every(ms, () => {
      if (res.destroyed || at >= bytes.length) return stop(t);
      res.write(bytes.subarray(at, at + size));
      at += size;
      if (at >= bytes.length) res.end();
    });
    res.on('close', () => stop(t));
  };

  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const b = behaviours.get(path);
    if (!b) {
      res.writeHead(404).end();
      return;
    }
    switch (b.kind) {
      case 'file':
        res.writeHead(200, { 'Content-Length': b.bytes.length }).end(b.bytes);
        return;
      case 'endless': {
        res.writeHead(200);
        const zeros = Buffer.alloc(b.chunk);
        const t = every(b.everyMs, () => res.destroyed || res.write(zeros));
        res.on('close', () => stop(t));
        return;
      }
      case 'stall-headers':
        return; // never answers
      case 'stall-body':
        res.writeHead(200, { 'Content-Length': b.bytes.length });
        res.write(b.bytes.subarray(0, b.after));
        return;
      case 'trickle':
        res.writeHead(200, { 'Content-Length': b.bytes.length });
        drip(res, b.bytes, 1, b.everyMs);
        return;
      case 'oversize': {
        const body = Buffer.concat([b.bytes, Buffer.alloc(b.extra)]);
        res.writeHead(200, b.announce ? { 'Content-Length': body.length } : {});
        res.end(body);
        return;
      }
      case 'storm': {
        const seen = (storms.get(path) ?? 0) + 1;
        storms.set(path, seen);
        if (seen <= b.times) res.writeHead(b.status).end();
        else res.writeHead(200, { 'Content-Length': b.bytes.length }).end(b.bytes);
        return;
      }
    }
  });
  server.on('connection', (socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    requests,
    serve: (path, behaviour) => {
      behaviours.set(path, behaviour);
      storms.delete(path);
    },
    close: async () => {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
