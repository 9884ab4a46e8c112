/**
 * Image blobs (manifests, configs, layers) in the content-addressed store
 * (store/content-store.ts), the same store that holds RPMs: each blob is kept
 * once under its sha256 digest, whatever image it belongs to. Writes stream
 * into the store's staging area and enter only after the digest and size
 * check, so a failed or forged download leaves nothing behind; reads check
 * the entry again (read() hashes what it returns, verify() a whole layer
 * before it is linked elsewhere, open() gives a layer to a reader that
 * hashes it as it unpacks it).
 */
import { createHash } from 'node:crypto';
import { createWriteStream, readFileSync, rmSync } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExitCode, IsomockError } from '../errors.js';
import { ContentStore, storeLocation, type OpenEntry } from '../store/content-store.js';
import { placeEntry } from '../store/place.js';
import { readFromStart } from '../util/no-follow.js';
import { digestHex, sha256Digest } from './manifest.js';

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
  private opened: ContentStore | undefined;

  constructor(readonly root: string = storeLocation()) {}

  /** The store itself, its safety checks run once per BlobStore (on first use). */
  private get content(): ContentStore {
    return (this.opened ??= ContentStore.open(this.root, ExitCode.bootstrap));
  }

  path(digest: string): string {
    return this.content.entryPath(digestHex(digest));
  }

  has(digest: string, size?: number): boolean {
    const st = this.content.stat(digestHex(digest));
    return st !== undefined && (size === undefined || st.size === size);
  }

  /** A small blob's bytes (a manifest or config), checked against its digest as they are read. */
  read(digest: string): Buffer {
    const entry = this.content.openEntry(digestHex(digest));
    if (!entry) throw new IsomockError(`blob ${digest} is not in the store ${this.root}`, ExitCode.bootstrap);
    try {
      const bytes = readFileSync(entry.fd);
      const got = sha256Digest(bytes);
      if (!entry.check(digestHex(got))) throw blobMismatch(`store ${this.root}`, digest, got);
      return bytes;
    } finally {
      entry.close();
    }
  }

  /**
   * A blob opened for one use that reads it whole (a layer's unpack): the
   * reader hashes what it reads from fd and passes the hex digest to check(),
   * which drops a changed entry and says whether it matched.
   */
  open(digest: string): OpenEntry {
    const entry = this.content.openEntry(digestHex(digest));
    if (!entry) throw new IsomockError(`blob ${digest} is not in the store ${this.root}`, ExitCode.bootstrap);
    return entry;
  }

  /** Hashes a whole blob (a layer) before a use that does not read it, dropping it when it changed. */
  async verify(digest: string): Promise<void> {
    const entry = this.open(digest);
    try {
      const hash = createHash('sha256');
      await pipeline(readFromStart(entry.fd), hash);
      const got = hash.digest('hex');
      if (!entry.check(got)) throw blobMismatch(`store ${this.root}`, digest, `sha256:${got}`);
    } finally {
      entry.close();
    }
  }

  /** Puts the blob at dir/name (store/place.ts: reflink, hard link when allowed, else copy), verified first. */
  async place(digest: string, dir: string, name: string, hardLink: boolean): Promise<void> {
    await this.verify(digest);
    placeEntry(this.content, digestHex(digest), dir, name, { hardLink });
  }

  /** Stream `source` into the store, verifying it; `where` names the origin in errors. */
  async write(digest: string, size: number, source: Readable, where: string): Promise<void> {
    const tmp = this.content.stagingPath();
    const tap = new DigestTap(where, size);
    try {
      await pipeline(source, tap, createWriteStream(tmp, { mode: 0o600, flags: 'wx' }));
      tap.check(digest);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    this.content.commit(tmp, digestHex(digest));
  }

  /** Store small in-memory content (a manifest or config) after checking it. */
  writeBytes(digest: string, bytes: Buffer, where: string): void {
    const got = sha256Digest(bytes);
    if (got !== digest) throw blobMismatch(where, digest, got);
    this.content.commitBytes(bytes);
  }
}
