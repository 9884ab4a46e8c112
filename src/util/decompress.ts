/**
 * Streaming decompression of repository metadata. The format is told by the
 * first bytes, not by the file name, because mirrors rename and re-serve files.
 */
import { Readable, PassThrough, pipeline, type Duplex } from 'node:stream';
import { createGunzip } from 'node:zlib';

// The xz, bzip2 and zstd decoders load when a stream needs them: most runs
// see only gzip, and loading all three costs ~25 ms at every CLI start.

type Compression = 'gzip' | 'xz' | 'zstd' | 'bzip2' | 'none';

const magics: [Compression, number[]][] = [
  ['gzip', [0x1f, 0x8b]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['bzip2', [0x42, 0x5a, 0x68]],
];
const longestMagic = Math.max(...magics.map(([, m]) => m.length));

function detectCompression(head: Uint8Array): Compression {
  for (const [kind, magic] of magics) {
    if (magic.every((b, i) => head[i] === b)) return kind;
  }
  return 'none';
}

/** Decompresses `source`, whatever of the supported formats it is in. */
export async function* decompress(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  // Gather enough bytes to recognise the format; chunks may be tiny.
  const head: Uint8Array[] = [];
  let headLength = 0;
  let done = false;
  while (headLength < longestMagic) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    head.push(next.value);
    headLength += next.value.length;
  }
  const rest = (async function* () {
    yield* head;
    if (done) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  })();
  const kind = detectCompression(Buffer.concat(head));
  switch (kind) {
    case 'none':
      yield* rest;
      return;
    case 'gzip':
      yield* throughNodeStream(rest, createGunzip({ chunkSize: 256 * 1024 }));
      return;
    case 'bzip2':
      // A classic (pre-streams2) stream: wrap it to iterate over it.
      yield* throughNodeStream(rest, (await import('unbzip2-stream')).default());
      return;
    case 'zstd':
      yield* unzstd(rest);
      return;
    case 'xz':
      // A webpack-built CommonJS bundle: Node cannot see its named exports.
      yield* new (await import('xz-decompress')).default.XzReadableStream(
        Readable.toWeb(Readable.from(rest)) as ReadableStream<Uint8Array>,
      );
      return;
  }
}

function throughNodeStream(source: AsyncIterable<Uint8Array>, transform: Duplex): AsyncIterable<Uint8Array> {
  const out = new PassThrough();
  // pipeline carries an error of the source or of the decompressor to `out`.
  pipeline(Readable.from(source), transform, out, () => {});
  return out;
}

async function* unzstd(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let output: Uint8Array[] = [];
  let ended = false;
  const { Decompress } = await import('fzstd');
  const decoder = new Decompress((chunk, final) => {
    output.push(chunk);
    if (final) ended = true;
  });
  for await (const chunk of source) {
    decoder.push(chunk);
    yield* output;
    output = [];
  }
  // fzstd reports a truncated stream only by never signalling the final block.
  if (!ended) decoder.push(new Uint8Array(0), true);
  yield* output;
  if (!ended) throw new Error('unexpected end of zstd data');
}
