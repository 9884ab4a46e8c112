/**
 * Worker body for layer-data.ts: reads one layer blob, decompresses it and
 * posts the tar bytes to the parent. Running here, decompression proceeds
 * while the main thread is busy in synchronous file system calls; a credit
 * count (the parent acknowledges each chunk) bounds the memory in flight.
 */
import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { decompressor } from './decompress.js';

/** Chunks (of up to 1 MiB) the parent may hold unprocessed. */
const maxInFlight = 32;

async function main(port: NonNullable<typeof parentPort>, file: string): Promise<void> {
  let inFlight = 0;
  let wake: (() => void) | undefined;
  port.on('message', () => {
    inFlight--;
    wake?.();
  });
  const source = createReadStream(file, { highWaterMark: 1 << 20 });
  const data = source.pipe(decompressor());
  // pipe() does not carry a read error (a missing blob) on to the loop below.
  source.on('error', (err) => data.destroy(err));
  for await (const chunk of data) {
    // A fresh, exactly-sized copy: zlib's output may share a larger buffer, which must not be transferred.
    const data = new Uint8Array(chunk as Buffer);
    port.postMessage(data, [data.buffer]);
    if (++inFlight >= maxInFlight) await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
  port.postMessage({ done: true });
}

const port = parentPort;
if (port) {
  main(port, (workerData as { file: string }).file).catch((err: Error) => port.postMessage({ error: err.message }));
}
