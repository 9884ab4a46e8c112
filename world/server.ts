/**
 * A static HTTP server for the world (or any directory): 127.0.0.1 only, a
 * free port, GET/HEAD, single byte ranges, percent-decoded paths confined
 * to the root. Faults keyed on the request path let tests make downloads
 * fail in controlled ways (status codes, cut or slow bodies, wrong bytes).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { posix, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Fault {
  /** Answer with this status and no body. */
  status?: number;
  /** Send only this many body bytes, then cut the connection. */
  cutAfter?: number;
  /** Pause this long before each 64 KiB chunk of the body. */
  chunkDelayMs?: number;
  /** Flip the bits of the first body byte (right length, wrong content). */
  corrupt?: boolean;
  /** Apply to this many requests, then serve normally (default: every request). */
  times?: number;
}

export interface ServeOptions {
  /** 0 (the default) lets the OS choose a free port. */
  port?: number;
  /** Decoded URL path ("/base/Packages/x.rpm") -> fault; the map may change while serving. */
  faults?: Map<string, Fault>;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  range?: string;
  /** The Authorization header sent, if any (tests check where credentials went). */
  authorization?: string;
}

export interface StaticServer {
  url: string;
  port: number;
  /** Every request answered, in order (tests check what a client fetched). */
  requests: RequestRecord[];
  close(): Promise<void>;
}

const chunkSize = 64 * 1024;

function contentType(path: string): string {
  if (path.endsWith('.xml')) return 'application/xml';
  if (path.endsWith('.json')) return 'application/json';
  if (path.endsWith('.cfg') || path.endsWith('.txt') || path.includes('RPM-GPG-KEY')) return 'text/plain';
  return 'application/octet-stream';
}

/** The single range of a Range header, or 'unsatisfiable'; multi-ranges are ignored (full body). */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  return start >= size ? 'unsatisfiable' : { start, end };
}

/** The decoded path inside root, or undefined when it is malformed or escapes root. */
function resolveInside(root: string, rawUrl: string): { decoded: string; file: string } | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(new URL(rawUrl, 'http://127.0.0.1').pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.split('/').includes('..')) return undefined;
  const file = resolve(root, `.${posix.normalize(decoded)}`);
  return file === root || file.startsWith(root + sep) ? { decoded, file } : undefined;
}

async function sendBody(
  res: ServerResponse,
  file: string,
  start: number,
  end: number,
  fault: Fault | undefined,
): Promise<void> {
  let remaining = fault?.cutAfter ?? Infinity;
  let first = true;
  for await (const chunk of createReadStream(file, { start, end, highWaterMark: chunkSize }) as AsyncIterable<Buffer>) {
    if (fault?.chunkDelayMs) await sleep(fault.chunkDelayMs);
    let piece = remaining < chunk.length ? chunk.subarray(0, remaining) : chunk;
    if (fault?.corrupt && first) {
      piece = Buffer.from(piece);
      piece[0] = piece[0]! ^ 0xff;
    }
    first = false;
    remaining -= piece.length;
    if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
    if (remaining <= 0) {
      // Cut mid-body: the client sees fewer bytes than Content-Length.
      res.socket?.destroy();
      return;
    }
    if (res.destroyed) return;
  }
  res.end();
}

export async function serveDirectory(root: string, options: ServeOptions = {}): Promise<StaticServer> {
  const absRoot = resolve(root);
  const requests: RequestRecord[] = [];
  const faults = options.faults;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const record: RequestRecord = {
      method,
      path: req.url ?? '',
      status: 0,
      range: req.headers.range,
      authorization: req.headers.authorization,
    };
    requests.push(record);
    const reply = (status: number, headers: Record<string, string | number> = {}): void => {
      record.status = status;
      res.writeHead(status, { 'Content-Length': 0, ...headers });
      res.end();
    };
    if (method !== 'GET' && method !== 'HEAD') return reply(405, { Allow: 'GET, HEAD' });
    const target = resolveInside(absRoot, req.url ?? '/');
    if (!target) return reply(404);
    record.path = target.decoded;
    const info = await stat(target.file).catch(() => undefined);
    if (!info?.isFile()) return reply(404);

    let fault = faults?.get(target.decoded);
    if (fault?.times !== undefined) {
      if (fault.times <= 0) fault = undefined;
      else fault.times -= 1;
    }
    if (fault?.status) return reply(fault.status);

    const common = {
      'Accept-Ranges': 'bytes',
      'Content-Type': contentType(target.file),
      'Last-Modified': info.mtime.toUTCString(),
    };
    const range = parseRange(req.headers.range, info.size);
    if (range === 'unsatisfiable') return reply(416, { 'Content-Range': `bytes */${info.size}` });
    const start = range?.start ?? 0;
    const end = range?.end ?? info.size - 1;
    record.status = range ? 206 : 200;
    res.writeHead(record.status, {
      ...common,
      'Content-Length': end - start + 1,
      ...(range ? { 'Content-Range': `bytes ${start}-${end}/${info.size}` } : {}),
    });
    if (method === 'HEAD' || info.size === 0) {
      res.end();
      return;
    }
    await sendBody(res, target.file, start, end, fault);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Length': 0 });
      res.destroy();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    requests,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
