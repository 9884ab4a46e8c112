/** Checks a stream against the checksum and size that repomd.xml or a metalink records. */
import { createHash, getHashes } from 'node:crypto';
import { ExitCode, IsomockError } from '../errors.js';
import type { Checksum } from './package.js';

/** Node's name for a checksum type as repodata writes it ("sha" is SHA-1). */
function hashAlgorithm(type: string, what: string): string {
  const name = type.toLowerCase() === 'sha' ? 'sha1' : type.toLowerCase();
  if (!getHashes().includes(name)) {
    throw new IsomockError(`${what}: unsupported checksum type "${type}"`, ExitCode.packageManager);
  }
  return name;
}

export function digest(data: Uint8Array, type: string, what: string): string {
  return createHash(hashAlgorithm(type, what)).update(data).digest('hex');
}

/**
 * Passes `source` through unchanged, then fails at its end if the bytes do not
 * match `checksum` or `size`. Failing at the end of the input (before the
 * consumer sees end-of-data) makes a truncated file a checksum error, not a
 * confusing decompression or XML error.
 */
export async function* verifyStream(
  source: AsyncIterable<Uint8Array>,
  checksum: Checksum | undefined,
  size: number | undefined,
  what: string,
): AsyncGenerator<Uint8Array> {
  const hash = checksum ? createHash(hashAlgorithm(checksum.type, what)) : undefined;
  let length = 0;
  for await (const chunk of source) {
    hash?.update(chunk);
    length += chunk.length;
    yield chunk;
  }
  const actual = hash?.digest('hex');
  if (checksum && actual !== checksum.value.toLowerCase()) {
    throw new IsomockError(
      `${what}: ${checksum.type} checksum mismatch (expected ${checksum.value}, got ${actual}; ${length} bytes${size === undefined ? '' : ` of ${size}`})`,
      ExitCode.packageManager,
    );
  }
  if (size !== undefined && length !== size) {
    throw new IsomockError(`${what}: size mismatch (expected ${size} bytes, got ${length})`, ExitCode.packageManager);
  }
}
