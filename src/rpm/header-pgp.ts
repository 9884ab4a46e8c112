/**
 * The OpenPGP signature packets stored in RPM signature headers, read with
 * the same acceptance rules as rpm 4.18's own parser, and rpm's `:pgpsig`
 * query format ("RSA/SHA256, <date>, Key ID <16 hex>").
 */
export interface PgpSignature {
  version: 3 | 4;
  sigType: number;
  pubkeyAlgo: number;
  hashAlgo: number;
  /** Creation time, seconds since the epoch. */
  created: number;
  /** Issuer key ID (16 hex digits) as rpm takes it; all zeros when the packet names none. */
  keyId: string;
  /** Issuer fingerprint subpacket (hex), when present. */
  fingerprint: string | null;
}

const pubkeyNames: Record<number, string> = {
  1: 'RSA',
  2: 'RSA(Encrypt-Only)',
  3: 'RSA(Sign-Only)',
  16: 'Elgamal(Encrypt-Only)',
  17: 'DSA',
  18: 'Elliptic Curve',
  19: 'ECDSA',
  20: 'Elgamal',
  21: 'Diffie-Hellman (X9.42)',
  22: 'EdDSA',
};
const hashNames: Record<number, string> = {
  1: 'MD5',
  2: 'SHA1',
  3: 'RIPEMD160',
  5: 'MD2',
  6: 'TIGER192',
  7: 'HAVAL-5-160',
  8: 'SHA256',
  9: 'SHA384',
  10: 'SHA512',
  11: 'SHA224',
};
// Number of MPIs in a signature, per public key algorithm rpm can verify.
const signatureMpis: Record<number, number> = { 1: 1, 17: 2, 19: 2, 22: 2 };
// Signature types whose issuer key ID rpm records.
const keyIdSigTypes = new Set([0x00, 0x01, 0x02, 0x13]);
const signatureTag = 2;
const subpacket = { created: 2, issuer: 16, keyFlags: 27, issuerFingerprint: 33, critical: 0x80 };

class Invalid extends Error {}
const fail = (): never => {
  throw new Invalid();
};

/** An OpenPGP body length (1, 2 or 5 octets; partial lengths refused) and its own size. */
function bodyLength(b: Uint8Array, at: number, end: number): [length: number, size: number] {
  const first = b[at]!;
  const left = end - at;
  let out: [number, number] = [0, 0];
  if (first < 192) out = [first, 1];
  else if (first < 224 && left > 2) out = [((first - 192) << 8) + b[at + 1]! + 192, 2];
  else if (first === 255 && left > 5) out = [readUint(b, at + 1, 4), 5];
  if (out[1] === 0 || left - out[1] < out[0]) fail();
  return out;
}

function readUint(b: Uint8Array, at: number, size: number): number {
  let v = 0;
  for (let i = 0; i < size; i++) v = v * 256 + b[at + i]!;
  return v;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface Subpackets {
  created: number | null;
  keyId: string | null;
  fingerprint: string | null;
  hasKeyFlags: boolean;
}

function readSubpackets(
  b: Uint8Array,
  at: number,
  end: number,
  sigType: number,
  hashed: boolean,
  into: Subpackets,
): void {
  while (at < end) {
    const [length, size] = bodyLength(b, at, end);
    if (length < 1) fail();
    const start = at + size;
    const type = b[start]! & ~subpacket.critical;
    const value = b.subarray(start + 1, start + length);
    let understood = false;
    if (type === subpacket.created && hashed && value.length === 4) {
      if (into.created !== null) fail(); // rpm refuses duplicate timestamps
      into.created = readUint(value, 0, 4);
      understood = true;
    } else if (type === subpacket.issuer) {
      understood = true;
      if (into.keyId === null && keyIdSigTypes.has(sigType) && value.length === 8) into.keyId = hex(value);
    } else if (type === subpacket.keyFlags && hashed) {
      if (into.hasKeyFlags) fail();
      into.hasKeyFlags = understood = true;
    } else if (type === subpacket.issuerFingerprint && value.length > 1) {
      into.fingerprint ??= hex(value.subarray(1));
    }
    if (!understood && b[start]! & subpacket.critical) fail();
    at = start + length;
  }
}

/** The signature's MPIs must fill the rest of the packet exactly. */
function checkMpis(b: Uint8Array, at: number, end: number, pubkeyAlgo: number): void {
  const count = signatureMpis[pubkeyAlgo] ?? fail();
  for (let i = 0; i < count; i++) {
    if (end - at < 2) fail();
    at += 2 + ((readUint(b, at, 2) + 7) >> 3);
    if (at > end) fail();
  }
  if (at !== end) fail();
}

function parseV3(b: Uint8Array, at: number, end: number): PgpSignature {
  if (end - at <= 19 || b[at + 1] !== 5) fail();
  const pubkeyAlgo = b[at + 15]!;
  checkMpis(b, at + 19, end, pubkeyAlgo);
  return {
    version: 3,
    sigType: b[at + 2]!,
    created: readUint(b, at + 3, 4),
    keyId: hex(b.subarray(at + 7, at + 15)),
    pubkeyAlgo,
    hashAlgo: b[at + 16]!,
    fingerprint: null,
  };
}

function parseV4(b: Uint8Array, at: number, end: number): PgpSignature {
  if (end - at <= 6) fail();
  const [sigType, pubkeyAlgo, hashAlgo] = [b[at + 1]!, b[at + 2]!, b[at + 3]!];
  const subs: Subpackets = { created: null, keyId: null, fingerprint: null, hasKeyFlags: false };
  let p = at + 4;
  for (const hashed of [true, false]) {
    if (end - p < 2) fail();
    const length = readUint(b, p, 2);
    p += 2;
    if (p + length > end) fail();
    readSubpackets(b, p, p + length, sigType, hashed, subs);
    p += length;
    if (hashed && subs.created === null) fail(); // the creation time must be hashed
  }
  if (end - p < 2) fail(); // the 16-bit hash prefix
  checkMpis(b, p + 2, end, pubkeyAlgo);
  return {
    version: 4,
    sigType,
    pubkeyAlgo,
    hashAlgo,
    created: subs.created!,
    keyId: subs.keyId ?? '0'.repeat(16),
    fingerprint: subs.fingerprint,
  };
}

/** The signature packet in `blob`, or null where rpm says "(not an OpenPGP signature)". */
export function parsePgpSignature(blob: Uint8Array): PgpSignature | null {
  try {
    if (blob.length < 2 || !(blob[0]! & 0x80)) fail();
    let tag: number;
    let body: number;
    let length: number;
    if (blob[0]! & 0x40) {
      tag = blob[0]! & 0x3f;
      const [l, size] = bodyLength(blob, 1, blob.length);
      [length, body] = [l, 1 + size];
    } else {
      tag = (blob[0]! >> 2) & 0xf;
      const size = 1 << (blob[0]! & 3);
      if (size > 4 || blob.length - 1 < size) fail();
      [length, body] = [readUint(blob, 1, size), 1 + size];
    }
    // The blob must be exactly one signature packet.
    if (tag !== signatureTag || body + length !== blob.length) fail();
    const version = blob[body];
    return version === 3 ? parseV3(blob, body, blob.length) : version === 4 ? parseV4(blob, body, blob.length) : fail();
  } catch (err) {
    if (err instanceof Invalid) return null;
    throw err;
  }
}

const weekdays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** strftime("%c") in the C locale, in the process's local time zone (TZ), as rpm prints dates. */
export function formatCDate(seconds: number): string {
  const d = new Date(seconds * 1000);
  const day = String(d.getDate()).padStart(2, ' ');
  const time = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return `${weekdays[d.getDay()]} ${months[d.getMonth()]} ${day} ${time} ${d.getFullYear()}`;
}

/**
 * rpm's `%{TAG:pgpsig}` for a signature tag's value: null where rpm prints
 * "(none)" (tag absent); rpm prints its complaint in place of a value that
 * is no OpenPGP signature, and so does this.
 */
export function formatPgpsig(blob: Uint8Array | null): string | null {
  if (!blob) return null;
  const sig = parsePgpSignature(blob);
  if (!sig) return '(not an OpenPGP signature)';
  const pubkey = pubkeyNames[sig.pubkeyAlgo] ?? 'Unknown public key algorithm';
  const hash = hashNames[sig.hashAlgo] ?? 'Unknown hash algorithm';
  return `${pubkey}/${hash}, ${formatCDate(sig.created)}, Key ID ${sig.keyId}`;
}

/** Mock's lockfile `signature` field: the last 8 characters of rpm's `%{sigpgp:pgpsig}`, null when unsigned. */
export function signatureFromPgpsig(pgpsig: string): string | null {
  if (pgpsig === '(none)' || pgpsig === '') return null;
  const lastToken = pgpsig.trim().split(/\s+/).pop()!;
  return lastToken.slice(-8);
}
