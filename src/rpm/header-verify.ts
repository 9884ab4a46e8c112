/**
 * Checking an RPM file against the digests its own headers record: the
 * header digests (SHA256/SHA1 of the main header blob), SIGMD5 (MD5 of main
 * header + payload), the payload digest (compressed payload) and optionally
 * the alternative payload digest (uncompressed payload). Everything streams.
 */
import { createHash, type Hash } from 'node:crypto';
import { IsomockError } from '../errors.js';
import { decompress } from '../util/decompress.js';
import { readRpmHeaders, readRpmWithPayload, type RpmHeaders, type RpmSource } from './header-stream.js';
import { packageInfo, type RpmPackageInfo } from './package.js';

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
    const algo = info.payloadDigestAlgo;
    const payloadHash = algo && info.payloadDigest ? createHash(algo) : null;
    let payloadLength = 0;
    const take = (chunk: Buffer) => {
      md5.update(chunk);
      payloadHash?.update(chunk);
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
    const altHash = options.uncompressed && algo && info.payloadDigestAlt ? createHash(algo) : null;
    let decompressError: string | null = null;
    if (altHash) {
      try {
        for await (const chunk of decompress(tee())) altHash.update(chunk);
      } catch (err) {
        decompressError = (err as Error).message;
      }
    }
    for (let next = await payload.next(); !next.done; next = await payload.next()) take(next.value);
    // The stored digests come first: they tell a corrupt file from a decoder's limits.
    const total = headers.headerLength + payloadLength;
    if (info.signedSize !== null && total !== info.signedSize) {
      throw new IsomockError(
        `${where}: header+payload is ${total} bytes, the signature header records ${info.signedSize} (truncated or padded file)`,
      );
    }
    if (payloadHash) compare(where, 'payload digest', info.payloadDigest, payloadHash, done);
    compare(where, 'SIGMD5', info.sigmd5, md5, done);
    if (decompressError !== null) {
      throw new IsomockError(
        `${where}: cannot check the uncompressed payload digest: ${info.payloadCompressor} payload does not decompress (${decompressError})`,
      );
    }
    if (altHash) compare(where, 'uncompressed payload digest', info.payloadDigestAlt, altHash, done);
    return done;
  } finally {
    await close();
  }
}
