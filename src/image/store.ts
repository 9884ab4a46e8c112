/**
 * The local content-addressed blob store: every manifest, config and layer is
 * kept once under blobs/sha256/<hex>, whatever image it belongs to. Writes go
 * to tmp/ and are renamed into place only after the digest and size check,
 * so a failed or forged download leaves nothing behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExitCode, IsomockError } from '../errors.js';
import { privateDir } from '../util/safe-fs.js';
import { digestHex, sha256Digest } from './manifest.js';

export const defaultStoreDir = '/var/cache/isomock/images';

function blobMismatch(where: string, digest: string, got: string): IsomockError {
  return new IsomockError(`${where}: blob ${digest} does not match its digest (got ${got})`, ExitCode.bootstrap);
}

/** A pass-through that hashes and counts, failing as soon as more than `size` bytes arrive. */
class DigestTap extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  constructor(
    private readonly where: string,
    private readonly expectedSize: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.expectedSize) {
      done(
        new IsomockError(
          `${this.where}: more data than the ${this.expectedSize} bytes the manifest declares`,
          ExitCode.bootstrap,
        ),
      );
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  /** Throws unless exactly `expectedSize` bytes hashing to `digest` went through. */
  check(digest: string): void {
    if (this.bytes !== this.expectedSize) {
      throw new IsomockError(
        `${this.where}: truncated: ${this.bytes} of ${this.expectedSize} bytes of ${digest}`,
        ExitCode.bootstrap,
      );
    }
    const got = `sha256:${this.hash.digest('hex')}`;
    if (got !== digest) throw blobMismatch(this.where, digest, got);
  }
}

export class BlobStore {
  constructor(readonly root: string = process.env.ISOMOCK_IMAGE_STORE ?? defaultStoreDir) {}

  path(digest: string): string {
    return join(this.root, 'blobs', 'sha256', digestHex(digest));
  }

  has(digest: string, size?: number): boolean {
    try {
      const st = statSync(this.path(digest));
      return size === undefined || st.size === size;
    } catch {
      return false;
    }
  }

  read(digest: string): Buffer {
    return readFileSync(this.path(digest));
  }

  private tmpPath(): string {
    // Root only: layers hold setuid binaries, and other users have no business here.
    privateDir(this.root, ExitCode.bootstrap);
    const dir = join(this.root, 'tmp');
    mkdirSync(dir, { recursive: true });
    mkdirSync(join(this.root, 'blobs', 'sha256'), { recursive: true });
    return join(dir, randomBytes(8).toString('hex'));
  }

  /** Stream `source` into the store, verifying it; `where` names the origin in errors. */
  async write(digest: string, size: number, source: Readable, where: string): Promise<void> {
    const tmp = this.tmpPath();
    const tap = new DigestTap(where, size);
    try {
      await pipeline(source, tap, createWriteStream(tmp, { mode: 0o644 }));
      tap.check(digest);
      renameSync(tmp, this.path(digest));
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** Store small in-memory content (a manifest or config) after checking it. */
  writeBytes(digest: string, bytes: Buffer, where: string): void {
    const got = sha256Digest(bytes);
    if (got !== digest) throw blobMismatch(where, digest, got);
    if (existsSync(this.path(digest))) return;
    const tmp = this.tmpPath();
    writeFileSync(tmp, bytes, { mode: 0o644 });
    renameSync(tmp, this.path(digest));
  }
}
