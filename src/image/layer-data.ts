/**
 * A layer blob's tar entries, read, decompressed and parsed on a worker
 * thread (layer-data-worker.ts) so that gunzip or zstd and the tar parser
 * run on the second core while the caller applies entries to disk. Entries
 * arrive in tar order, in batches: each entry's header, then a regular
 * file's data as ranges of the batch's buffer, then its end.
 */
import { on } from 'node:events';
import { Worker } from 'node:worker_threads';

/** One step of the tar stream; `i` numbers the entries of the layer. */
export type LayerOp =
  | {
      op: 'entry';
      i: number;
      path: string;
      type: string;
      mode?: number;
      uid?: number;
      gid?: number;
      /** Seconds since the epoch. */
      mtime?: number;
      linkpath?: string;
    }
  | { op: 'data'; i: number; start: number; end: number }
  | { op: 'end'; i: number };

export type LayerEntry = Extract<LayerOp, { op: 'entry' }>;

export interface LayerBatch {
  ops: LayerOp[];
  data: Uint8Array;
}

export type WorkerMessage = LayerBatch | { done: true } | { error: string; tar: boolean };

/** A layer that is not a valid tar stream (as opposed to one that cannot be read or decompressed). */
export class TarStreamError extends Error {}

/** Batches of `file`'s entries, in order; a read or decompression failure is an Error, a bad tar stream a TarStreamError. */
export async function* layerBatches(file: string): AsyncGenerator<LayerBatch> {
  const worker = new Worker(new URL('./layer-data-worker.js', import.meta.url), { workerData: { file } });
  try {
    // The worker stays alive (its port listens) until terminated below: an exit here is a crash.
    for await (const [msg] of on(worker, 'message', { close: ['exit'] }) as AsyncIterable<[WorkerMessage]>) {
      if ('ops' in msg) {
        yield msg;
        worker.postMessage(0);
      } else if ('error' in msg) {
        throw msg.tar ? new TarStreamError(msg.error) : new Error(msg.error);
      } else {
        return;
      }
    }
    throw new Error('the decompression worker stopped unexpectedly');
  } finally {
    await worker.terminate();
  }
}
