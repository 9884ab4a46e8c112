/**
 * Layer decompression chosen by the data's magic bytes (as containers/image
 * does), not the declared media type: gzip with Node's zlib, zstd with fzstd
 * (Node 20's zlib has none), anything else passed through as plain tar.
 */
import { createGunzip } from 'node:zlib';
import { PassThrough, Transform } from 'node:stream';
import { Decompress } from 'fzstd';

const gzipMagic = Buffer.from([0x1f, 0x8b]);
const zstdMagic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

function zstdStream(): Transform {
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
        dec.push(chunk);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done) {
      try {
        dec.push(new Uint8Array(0), true);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
  const dec = new Decompress((data) => {
    t.push(Buffer.from(data.buffer, data.byteOffset, data.length));
  });
  return t;
}

/** A transform that sniffs the first bytes and decompresses whatever follows. */
export function decompressor(): Transform {
  let inner: Transform | undefined;
  let head = Buffer.alloc(0);
  const out = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (!inner) {
        head = Buffer.concat([head, chunk]);
        if (head.length < zstdMagic.length) return done();
        inner = head.subarray(0, 2).equals(gzipMagic)
          ? createGunzip({ chunkSize: 1 << 20 })
          : head.subarray(0, 4).equals(zstdMagic)
            ? zstdStream()
            : new PassThrough();
        inner.on('data', (d: Buffer) => out.push(d));
        inner.on('error', (err) => out.destroy(err));
        chunk = head;
      }
      if (inner.write(chunk)) done();
      else inner.once('drain', () => done());
    },
    flush(done) {
      if (!inner) {
        // Shorter than a magic number: only plain data can be this small.
        if (head.length > 0) out.push(head);
        return done();
      }
      inner.once('end', () => done());
      inner.end();
    },
  });
  return out;
}
