/**
 * Is this file the RPM the lockfile names? Its NEVRA, its SIGMD5 and its
 * signing key must be the locked ones, and the file must be whole: every
 * digest its headers record is recomputed; with isomock's record beside the
 * lockfile, its size and SHA-256 must match too. Mock checks none of this (its
 * issue #1687); a lockfile is only as good as this check.
 */
import { createHash } from 'node:crypto';
import { closeSync } from 'node:fs';
import { pipeline, Transform, type Readable } from 'node:stream';
import { IsomockError, ExitCode } from '../errors.js';
import { lockfileSignature, sigmd5Text, type RpmPackageInfo } from '../rpm/package.js';
import { verifyPackageDigests } from '../rpm/header-verify.js';
import type { LockedRpm } from './lockfile.js';
import { nevra } from '../rpm/nevra.js';
import { sha256Hex, verifyAgainstRecord, type RecordedPackage } from './record.js';
import { openRegularFile, readFromStart, regularDescriptor } from '../util/no-follow.js';

/**
 * `source` is a path (opened here, never through a link), a descriptor the
 * caller opened so (a download not yet renamed into place; the caller closes it),
 * or the file's bytes from the first one as they arrive (a download being
 * written: checked in the read that writes it; read to its end).
 * `shownAs` names the file in messages (a partial download's path means little
 * to a user); `recorded` is isomock's record of the exact file, when there is one.
 * Returns the file's SHA-256 (hex), computed in the same read (the store's key).
 */
export async function verifyLockedRpm(
  source: string | number | Readable,
  locked: LockedRpm,
  shownAs = String(source),
  recorded?: RecordedPackage,
): Promise<string> {
  const notLocked = (what: string): IsomockError =>
    new IsomockError(`${shownAs} is not ${nevra(locked)} from the lockfile: ${what}`, ExitCode.error);
  const identityMismatch = (info: RpmPackageInfo): IsomockError | undefined => {
    const actual = { ...info, epoch: info.epoch === null ? null : String(info.epoch) };
    if (nevra(actual) !== nevra(locked)) return notLocked(`it is ${nevra(actual)}`);
    if (sigmd5Text(info) !== locked.sigmd5)
      return notLocked(`its SIGMD5 is ${sigmd5Text(info)}, the lockfile says ${locked.sigmd5}`);
    const signature = lockfileSignature(info);
    if (locked.signature !== null && signature !== locked.signature) {
      return notLocked(`it is signed by ${signature ?? 'nobody'}, the lockfile says ${locked.signature}`);
    }
    return undefined;
  };
  // Read through one descriptor opened O_NOFOLLOW: the file checked is the file hashed, and never a link's target.
  const owned = typeof source === 'string';
  const file =
    typeof source === 'object'
      ? undefined
      : owned
        ? openRegularFile(source, shownAs)
        : regularDescriptor(source, shownAs);
  try {
    // One pass: the identity is checked on the headers, before the payload's digests are computed.
    let headersRead = false;
    const sha256 = createHash('sha256');
    let hashed = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        sha256.update(chunk);
        hashed += chunk.length;
        done(null, chunk);
      },
    });
    // pipeline, not pipe: when the digests stop reading (a mismatch, or the payload's end before the file's),
    // the reader is destroyed with the tap, so no read is left in flight on a descriptor closed below.
    const stream = pipeline(file ? readFromStart(file.fd) : (source as Readable), tap, () => undefined);
    try {
      await verifyPackageDigests(
        { stream, name: shownAs },
        {
          check: (info) => {
            const mismatch = identityMismatch(info);
            if (mismatch) throw mismatch;
            headersRead = true;
          },
        },
      );
    } catch (err) {
      // Unreadable headers and identity mismatches speak for themselves; a digest failure says whose file it is.
      throw headersRead ? notLocked((err as Error).message) : err;
    }
    // The payload digests read the bytes to their end; a file with bytes beyond what they read is hashed anew.
    const hex = !file || hashed === file.size ? sha256.digest('hex') : await sha256Hex(readFromStart(file.fd));
    if (recorded) verifyAgainstRecord(file ?? { size: hashed }, recorded, shownAs, hex);
    return hex;
  } finally {
    if (owned) closeSync(file!.fd);
  }
}
