/**
 * Checking an RPM file against the digests its own headers record, v4 and v6
 * alike: the header digests (SHA256, SHA1, SHA3-256 of the main header blob),
 * SIGMD5 (MD5 of main header + payload, v4 only), every payload digest
 * (SHA-256, and in v6 SHA-512 and SHA3-256, of the compressed payload), the
 * recorded sizes (v4: header + payload; v6: the payload), and optionally the
 * digests and size of the uncompressed payload. Everything streams.
 */
import { createHash, type Hash } from 'node:crypto';
import { IsomockError } from '../errors.js';
import { decompress } from '../util/decompress.js';
import { readRpmHeaders, readRpmWithPayload, type RpmHeaders, type RpmSource } from './header-stream.js';
import { packageInfo, type PayloadDigest, type RpmPackageInfo } from './package.js';

/** Names of the digests that were recomputed and matched. */
export type VerifiedDigests = string[];

function compare(where: string, what: string, expected: string | null, hash: Hash, done: VerifiedDigests): void {
  if (expected === null) return;
  const actual = hash.digest('hex');
  if (actual !== expected.toLowerCase()) {
    throw new IsomockError(`${where}: ${what} mismatch: the file gives ${actual}, its header records ${expected}`);
  }
  done.push(what);
}

function checkHeaderDigests(headers: RpmHeaders, info: RpmPackageInfo, done: VerifiedDigests): void {
  const raw = headers.header.raw;
  compare(headers.where, 'SHA256 header digest', info.sha256Header, createHash('sha256').update(raw), done);
  compare(headers.where, 'SHA1 header digest', info.sha1Header, createHash('sha1').update(raw), done);
  compare(headers.where, 'SHA3-256 header digest', info.sha3_256Header, createHash('sha3-256').update(raw), done);
}

/** How a payload digest is named in results and messages ('payload digest' is v4's SHA-256 one, as before). */
function digestName(d: PayloadDigest): string {
  const algo = d.algo === 'sha256' ? '' : `${d.algo.toUpperCase()} `;
  return `${d.uncompressed ? 'uncompressed ' : ''}${algo}payload digest`;
}

function hasherFor(where: string, d: PayloadDigest): Hash {
  try {
    return createHash(d.algo);
  } catch {
    throw new IsomockError(`${where}: ${digestName(d)} uses an algorithm isomock cannot compute (${d.algo})`);
  }
}

function checkSize(where: string, what: string, expected: number | null, actual: number): void {
  if (expected !== null && actual !== expected) {
    throw new IsomockError(
      `${where}: ${what} is ${actual} bytes, its header records ${expected} (truncated or padded file)`,
    );
  }
}

/** Checks the main header against its recorded digests, reading only the headers. */
export async function verifyHeaderDigests(source: RpmSource): Promise<VerifiedDigests> {
  const headers = await readRpmHeaders(source);
  const done: VerifiedDigests = [];
  checkHeaderDigests(headers, packageInfo(headers), done);
  return done;
}

/**
 * Reads the whole file and checks every digest it records. With
 * `uncompressed`, also decompresses the payload to check PAYLOADDIGESTALT.
 * `check` sees the parsed headers before the payload is read, so a caller
 * that also needs them (is this the package I expect?) reads the file once.
 */
export async function verifyPackageDigests(
  source: RpmSource,
  options: { uncompressed?: boolean; check?: (info: RpmPackageInfo) => void } = {},
): Promise<VerifiedDigests> {
  const { headers, payload, close } = await readRpmWithPayload(source);
  try {
    const info = packageInfo(headers);
    options.check?.(info);
    const { where } = headers;
    const done: VerifiedDigests = [];
    checkHeaderDigests(headers, info, done);
    const md5 = createHash('md5').update(headers.header.raw);
    const compressed = info.payloadDigests
      .filter((d) => !d.uncompressed)
      .map((d) => ({ d, hash: hasherFor(where, d) }));
    const wantUncompressed = options.uncompressed ? info.payloadDigests.filter((d) => d.uncompressed) : [];
    const uncompressed = wantUncompressed.map((d) => ({ d, hash: hasherFor(where, d) }));
    let payloadLength = 0;
    const take = (chunk: Buffer) => {
      md5.update(chunk);
      for (const c of compressed) c.hash.update(chunk);
      payloadLength += chunk.length;
    };
    // Pulled with next() rather than for-await, so that a decompressor that
    // stops early (corrupt data) leaves the rest of the payload to be drained.
    const tee = async function* () {
      for (let next = await payload.next(); !next.done; next = await payload.next()) {
        take(next.value);
        yield next.value;
      }
    };
    const checkUncompressed = options.uncompressed && (uncompressed.length > 0 || info.payloadSizeAlt !== null);
    let uncompressedLength = 0;
    let decompressError: string | null = null;
    if (checkUncompressed) {
      try {
        for await (const chunk of decompress(tee())) {
          for (const u of uncompressed) u.hash.update(chunk);
          uncompressedLength += chunk.length;
        }
      } catch (err) {
        decompressError = (err as Error).message;
      }
    }
    for (let next = await payload.next(); !next.done; next = await payload.next()) take(next.value);
    // The stored digests come first: they tell a corrupt file from a decoder's limits.
    checkSize(where, 'header+payload', info.signedSize, headers.headerLength + payloadLength);
    checkSize(where, 'the payload', info.payloadSize, payloadLength);
    for (const c of compressed) compare(where, digestName(c.d), c.d.hex, c.hash, done);
    compare(where, 'SIGMD5', info.sigmd5, md5, done);
    if (decompressError !== null) {
      throw new IsomockError(
        `${where}: cannot check the uncompressed payload digest: ${info.payloadCompressor} payload does not decompress (${decompressError})`,
      );
    }
    if (checkUncompressed) checkSize(where, 'the uncompressed payload', info.payloadSizeAlt, uncompressedLength);
    for (const u of uncompressed) compare(where, digestName(u.d), u.d.hex, u.hash, done);
    return done;
  } finally {
    await close();
  }
}
