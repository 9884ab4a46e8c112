/**
 * Worker body for layer-data.ts: reads one layer blob (hashing it as it
 * reads, so one read serves the unpack and the store's check), decompresses it,
 * parses the tar stream and posts the entries to the parent in batches (one
 * message and one transferred buffer per 4 MiB of data or 2,000 steps).
 * Everything but the file system calls runs here, on the second core: the
 * parent's thread, which applies the entries, is the unpack's critical path.
 * A credit count (the parent acknowledges each batch) bounds the memory in
 * flight. This thread only reads; it never writes a file.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Parser, type ReadEntry } from 'tar';
import { decompressor } from './decompress.js';
import type { LayerBatch, LayerOp, LayerSource, WorkerMessage } from './layer-data.js';

/** Batches the parent may hold unprocessed. */
const maxInFlight = 8;
/** A batch is posted once it holds this much data or this many steps: fewer, larger messages cost less. */
const batchBytes = 4 << 20;
const batchOps = 2000;

async function main(port: NonNullable<typeof parentPort>, from: LayerSource): Promise<void> {
  let inFlight = 0;
  let wake: (() => void) | undefined;
  port.on('message', () => {
    inFlight--;
    wake?.();
  });
  let ops: LayerOp[] = [];
  let chunks: Buffer[] = [];
  let bytes = 0;
  let index = 0;
  let tarError: Error | undefined;
  const parser = new Parser({ strict: true });
  parser.on('entry', (entry: ReadEntry) => {
    const i = index++;
    ops.push({
      op: 'entry',
      i,
      path: entry.path,
      type: entry.type,
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      mtime: entry.mtime && entry.mtime.getTime() / 1000,
      linkpath: entry.linkpath,
    });
    entry.on('data', (chunk: Buffer) => {
      ops.push({ op: 'data', i, start: bytes, end: bytes + chunk.length });
      chunks.push(chunk);
      bytes += chunk.length;
    });
    entry.on('end', () => ops.push({ op: 'end', i }));
  });
  parser.on('error', (err: Error) => (tarError ??= err));
  const ended = new Promise<void>((resolve) => parser.once('end', resolve));

  const flush = async (): Promise<void> => {
    if (ops.length === 0) return;
    // One fresh buffer for the batch's bytes: zlib's output may share a larger one, which must not be transferred.
    const data = new Uint8Array(Buffer.concat(chunks, bytes));
    const batch: LayerBatch = { ops, data };
    ops = [];
    chunks = [];
    bytes = 0;
    port.postMessage(batch satisfies WorkerMessage, [data.buffer]);
    if (++inFlight >= maxInFlight) await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  };

  // A descriptor is the caller's: read from its start, left open. The bytes are hashed as they are read.
  const source =
    typeof from === 'number'
      ? createReadStream('', { fd: from, start: 0, autoClose: false, highWaterMark: 1 << 20 })
      : createReadStream(from, { highWaterMark: 1 << 20 });
  const hash = createHash('sha256');
  source.on('data', (chunk) => hash.update(chunk));
  const data = source.pipe(decompressor());
  // pipe() does not carry a read error (a missing blob) on to the loop below.
  source.on('error', (err) => data.destroy(err));
  for await (const chunk of data) {
    parser.write(chunk as Buffer);
    if (tarError) break;
    if (bytes >= batchBytes || ops.length >= batchOps) await flush();
  }
  if (!tarError) {
    parser.end();
    await Promise.race([ended, new Promise((resolve) => parser.once('error', resolve))]);
  }
  // What parsed before a failure goes first: the parent's own first failure wins, as it would in order.
  await flush();
  port.postMessage(
    (tarError
      ? { error: tarError.message, tar: true }
      : { done: true, sha256: hash.digest('hex') }) satisfies WorkerMessage,
  );
}

const port = parentPort;
if (port) {
  main(port, (workerData as { source: LayerSource }).source).catch((err: Error) =>
    port.postMessage({ error: err.message, tar: false } satisfies WorkerMessage),
  );
}
