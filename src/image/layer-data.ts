/**
 * A layer blob's tar bytes, decompressed on a worker thread
 * (layer-data-worker.ts) so that gunzip or zstd runs on the second core
 * while the caller applies entries to disk.
 */
import { on } from 'node:events';
import { Worker } from 'node:worker_threads';

type Message = Uint8Array | { done: true } | { error: string };

/** Decompressed chunks of `file`, in order; a read or decompression failure is thrown as an Error. */
export async function* layerData(file: string): AsyncGenerator<Buffer> {
  const worker = new Worker(new URL('./layer-data-worker.js', import.meta.url), { workerData: { file } });
  try {
    // The worker stays alive (its port listens) until terminated below: an exit here is a crash.
    for await (const [msg] of on(worker, 'message', { close: ['exit'] }) as AsyncIterable<[Message]>) {
      if (msg instanceof Uint8Array) {
        yield Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
        worker.postMessage(0);
      } else if ('error' in msg) {
        throw new Error(msg.error);
      } else {
        return;
      }
    }
    throw new Error('the decompression worker stopped unexpectedly');
  } finally {
    await worker.terminate();
  }
}
