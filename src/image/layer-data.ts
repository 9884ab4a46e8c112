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

/** The worker's messages: batches, then the end with the SHA-256 (hex) of the blob's bytes as read, or a failure. */
export type WorkerMessage = LayerBatch | { done: true; sha256: string } | { error: string; tar: boolean };

/** A layer blob: a path, or a descriptor the caller opened (read from its start, not closed here). */
export type LayerSource = string | number;

/** A layer that is not a valid tar stream (as opposed to one that cannot be read or decompressed). */
export class TarStreamError extends Error {}

/**
 * Batches of the blob's entries, in order, then its SHA-256 (hex, of the
 * compressed bytes read) as the generator's return value; a read or
 * decompression failure is an Error, a bad tar stream a TarStreamError.
 */
export async function* layerBatches(source: LayerSource): AsyncGenerator<LayerBatch, string> {
  const worker = new Worker(new URL('./layer-data-worker.js', import.meta.url), { workerData: { source } });
  try {
    // The worker stays alive (its port listens) until terminated below: an exit here is a crash.
    for await (const [msg] of on(worker, 'message', { close: ['exit'] }) as AsyncIterable<[WorkerMessage]>) {
      if ('ops' in msg) {
        yield msg;
        worker.postMessage(0);
      } else if ('error' in msg) {
        throw msg.tar ? new TarStreamError(msg.error) : new Error(msg.error);
      } else {
        return msg.sha256;
      }
    }
    throw new Error('the decompression worker stopped unexpectedly');
  } finally {
    await worker.terminate();
  }
}
