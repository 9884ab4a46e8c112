/**
 * Is this RPM signed by a trusted key? The header's OpenPGP signature (v4
 * packages: RSAHEADER/DSAHEADER; rpm 6: the OPENPGP strings, on v4 and v6
 * packages alike) is checked over the main header's bytes with openpgp.js,
 * as rpm's header-only signature is: the header records the payload's
 * digests, which lockfile/verify-rpm recomputes, so header signature plus
 * payload digest vouch for the whole file. One good signature by a trusted
 * key is enough; otherwise the error names the file and why (not signed,
 * signed by a key nobody trusts, a signature that does not match).
 */
import { closeSync } from 'node:fs';
import { createMessage, readSignature, verify } from 'openpgp';
import { ExitCode, IsomockError } from '../errors.js';
import { readRpmHeaders, type RpmHeaders } from '../rpm/header-stream.js';
import { openRegularFile, readFromStart, regularDescriptor } from '../util/no-follow.js';
import { SigTag } from '../rpm/tags.js';
import type { Keyring } from './keyring.js';

/** The header signature packets the signature header carries. */
function headerSignatures(headers: RpmHeaders): Uint8Array[] {
  const sig = headers.signature;
  const packets: Uint8Array[] = [];
  for (const tag of [SigTag.rsa, SigTag.dsa]) {
    const blob = sig.bytes(tag);
    if (blob) packets.push(new Uint8Array(blob));
  }
  for (const text of sig.strings(SigTag.openpgp) ?? []) packets.push(new Uint8Array(Buffer.from(text, 'base64')));
  return packets;
}

const hex = (id: { toHex(): string }): string => id.toHex().toUpperCase();

/** The fingerprint of the trusted key whose signature matches; else an error naming shownAs. */
async function verifyRpmSignature(headers: RpmHeaders, keyring: Keyring, shownAs: string): Promise<string> {
  const packets = headerSignatures(headers);
  if (packets.length === 0)
    throw new IsomockError(`${shownAs} is not signed (no OpenPGP header signature)`, ExitCode.error);
  const message = await createMessage({ binary: new Uint8Array(headers.header.raw) });
  const problems: string[] = [];
  for (const packet of packets) {
    let signature;
    try {
      signature = await readSignature({ binarySignature: packet });
    } catch (err) {
      problems.push(`an unreadable signature (${(err as Error).message})`);
      continue;
    }
    const issuers = signature.getSigningKeyIDs().map(hex);
    const signer = keyring.keys.find((k) => k.getKeyIDs().some((id) => issuers.includes(hex(id))));
    if (!signer) {
      problems.push(`signed by key ID ${issuers.join(', ') || 'unnamed'}, which is none of the trusted keys`);
      continue;
    }
    const result = await verify({ message, signature, verificationKeys: signer, format: 'binary' });
    try {
      await result.signatures[0]!.verified;
      return signer.getFingerprint().toUpperCase();
    } catch (err) {
      problems.push(
        `its signature by ${signer.getFingerprint().toUpperCase()} does not match its header (${(err as Error).message})`,
      );
    }
  }
  throw new IsomockError(`${shownAs}: ${problems.join('; ')}`, ExitCode.error);
}

/** verifyRpmSignature on a file: a path (opened never through a link) or a descriptor the caller opened so. */
export async function verifyRpmFileSignature(
  source: string | number,
  keyring: Keyring,
  shownAs: string,
): Promise<string> {
  const owned = typeof source === 'string';
  const file = owned ? openRegularFile(source, shownAs) : regularDescriptor(source, shownAs);
  try {
    return await verifyRpmSignature(
      await readRpmHeaders({ stream: readFromStart(file.fd), name: shownAs }),
      keyring,
      shownAs,
    );
  } finally {
    if (owned) closeSync(file.fd);
  }
}
