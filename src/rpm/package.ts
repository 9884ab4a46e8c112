/**
 * What isomock needs to know about one .rpm / .src.rpm file, read from its
 * headers only (the payload is never read here).
 */
import { signatureFromPgpsig } from './header-pgp.js';
import type { Dependency } from './deps.js';
import type { RpmHeader } from './header.js';
import { formatPgpsig, parsePgpSignature, type PgpSignature } from './header-pgp.js';
import { readRpmHeaders, type RpmHeaders, type RpmSource } from './header-stream.js';
import { SigTag, Tag, hashAlgoNames } from './tags.js';

interface RpmFile {
  path: string;
  mode: number;
  size: number;
  /** Hex digest of a regular file's content ("" for anything else). */
  digest: string;
  /** Symlink target ("" for anything else). */
  linkTo: string;
  /** RPMFILE_* bits (config, doc, ghost...). */
  flags: number;
  user: string;
  group: string;
}

export type DependencyKind =
  'requires' | 'provides' | 'conflicts' | 'obsoletes' | 'recommends' | 'suggests' | 'supplements' | 'enhances';

interface RpmSignatures {
  /** RSA header-only signature (RSAHEADER). */
  rsaHeader: Buffer | null;
  /** DSA (or EdDSA/ECDSA) header-only signature (DSAHEADER). */
  dsaHeader: Buffer | null;
  /** Legacy header+payload signatures written by `rpmsign --rpmv3`: RSA (SIGPGP) and DSA (SIGGPG). */
  pgp: Buffer | null;
  gpg: Buffer | null;
}

/** One recorded payload digest: node:crypto algorithm, of the uncompressed payload or the compressed one. */
export interface PayloadDigest {
  algo: string;
  uncompressed: boolean;
  hex: string;
}

export interface RpmPackageInfo {
  name: string;
  /** null when the package has no Epoch tag. */
  epoch: number | null;
  version: string;
  release: string;
  /** `src` / `nosrc` for source packages (as rpm names them), else the ARCH tag. */
  arch: string;
  /** The ARCH tag itself (for a source package: the arch it was built on). */
  headerArch: string;
  isSource: boolean;
  license: string;
  /** The source package's file name; null for a source package. */
  sourceRpm: string | null;
  buildHost: string;
  buildTime: number;
  /** The RPMFORMAT tag: 6 for v6 packages, 4 when absent. */
  rpmFormat: number;
  /** MD5 of main header + payload, hex; v6 packages have none. */
  sigmd5: string | null;
  /** Digests of the main header blob, hex. */
  sha1Header: string | null;
  sha256Header: string | null;
  sha3_256Header: string | null;
  /** PAYLOADSHA256: digest of the compressed payload, and of the uncompressed one (hex). */
  payloadDigest: string | null;
  payloadDigestAlt: string | null;
  /** node:crypto name from the PAYLOADDIGESTALGO tag, which v6 packages no longer carry. */
  payloadDigestAlgo: string | null;
  /** Every payload digest recorded (v4: PAYLOADSHA256 in its tagged algorithm; v6 adds SHA-512 and SHA3-256). */
  payloadDigests: PayloadDigest[];
  /** Header + payload size recorded in the signature header (v4). */
  signedSize: number | null;
  /** Compressed and uncompressed payload sizes recorded in the main header (v6). */
  payloadSize: number | null;
  payloadSizeAlt: number | null;
  signatures: RpmSignatures;
  /** The first signature rpm -qi would show (DSA, RSA, GPG, PGP header order), parsed. */
  signer: PgpSignature | null;
  dependencies: Record<DependencyKind, Dependency[]>;
  files: RpmFile[];
  /** node:crypto name of the file digests' algorithm. */
  fileDigestAlgo: string;
  payloadFormat: string | null;
  payloadCompressor: string | null;
  payloadFlags: string | null;
  /** Byte range of the main header in the file; the payload follows it. */
  headerOffset: number;
  headerLength: number;
}

// [kind, name tag, flags tag, version tag]
const dependencyTags: [DependencyKind, number, number, number][] = [
  ['requires', Tag.requireName, Tag.requireFlags, Tag.requireVersion],
  ['provides', Tag.provideName, Tag.provideFlags, Tag.provideVersion],
  ['conflicts', Tag.conflictName, Tag.conflictFlags, Tag.conflictVersion],
  ['obsoletes', Tag.obsoleteName, Tag.obsoleteFlags, Tag.obsoleteVersion],
  ['recommends', Tag.recommendName, Tag.recommendFlags, Tag.recommendVersion],
  ['suggests', Tag.suggestName, Tag.suggestFlags, Tag.suggestVersion],
  ['supplements', Tag.supplementName, Tag.supplementFlags, Tag.supplementVersion],
  ['enhances', Tag.enhanceName, Tag.enhanceFlags, Tag.enhanceVersion],
];
// Files recorded without FILEDIGESTALGO use MD5 (rpm's historical default).
const defaultFileDigestAlgo = 1;

function dependencies(h: RpmHeader): Record<DependencyKind, Dependency[]> {
  const out = {} as Record<DependencyKind, Dependency[]>;
  for (const [kind, nameTag, flagsTag, versionTag] of dependencyTags) {
    const names = h.strings(nameTag) ?? [];
    const flags = h.numbers(flagsTag) ?? [];
    const versions = h.strings(versionTag) ?? [];
    out[kind] = names.map((name, i) => ({ name, flags: flags[i] ?? 0, evr: versions[i] ?? '' }));
  }
  return out;
}

function filePaths(h: RpmHeader): string[] {
  const baseNames = h.strings(Tag.baseNames);
  if (!baseNames) return h.strings(Tag.oldFileNames) ?? [];
  const dirNames = h.strings(Tag.dirNames) ?? [];
  const dirIndexes = h.numbers(Tag.dirIndexes) ?? [];
  return baseNames.map((base, i) => (dirNames[dirIndexes[i]!] ?? '') + base);
}

function files(h: RpmHeader): RpmFile[] {
  const sizes = h.numbers(Tag.longFileSizes) ?? h.numbers(Tag.fileSizes) ?? [];
  const modes = h.numbers(Tag.fileModes) ?? [];
  const digests = h.strings(Tag.fileDigests) ?? [];
  const linkTos = h.strings(Tag.fileLinkTos) ?? [];
  const flags = h.numbers(Tag.fileFlags) ?? [];
  const users = h.strings(Tag.fileUserName) ?? [];
  const groups = h.strings(Tag.fileGroupName) ?? [];
  return filePaths(h).map((path, i) => ({
    path,
    mode: modes[i] ?? 0,
    size: sizes[i] ?? 0,
    digest: digests[i] ?? '',
    linkTo: linkTos[i] ?? '',
    flags: flags[i] ?? 0,
    user: users[i] ?? '',
    group: groups[i] ?? '',
  }));
}

const hexOf = (b: Buffer | null): string | null => (b ? b.toString('hex') : null);

/**
 * The payload digests as rpm 6 reads them: PAYLOADSHA256 (whose algorithm
 * v4 packages name in PAYLOADDIGESTALGO; v6 dropped that tag, the digest is
 * SHA-256), PAYLOADSHA512 and PAYLOADSHA3_256, each with its ALT twin.
 */
function payloadDigests(h: RpmHeader, taggedAlgo: string | null): PayloadDigest[] {
  const tags: [number, number, string][] = [
    [Tag.payloadDigest, Tag.payloadDigestAlt, taggedAlgo ?? 'sha256'],
    [Tag.payloadSha512, Tag.payloadSha512Alt, 'sha512'],
    [Tag.payloadSha3_256, Tag.payloadSha3_256Alt, 'sha3-256'],
  ];
  return tags.flatMap(([compressed, uncompressed, algo]) =>
    [
      { algo, uncompressed: false, hex: h.string(compressed) },
      { algo, uncompressed: true, hex: h.string(uncompressed) },
    ].filter((d): d is PayloadDigest => d.hex !== null),
  );
}

/** Builds the package description from headers already read. */
export function packageInfo(headers: RpmHeaders): RpmPackageInfo {
  const { header: h, signature: s } = headers;
  // rpm's test for a source package: it names no source package of its own.
  const isSource = h.has(Tag.sourcePackage) || !h.has(Tag.sourceRpm);
  const headerArch = h.string(Tag.arch) ?? '';
  const signatures: RpmSignatures = {
    rsaHeader: s.bytes(SigTag.rsa),
    dsaHeader: s.bytes(SigTag.dsa),
    pgp: s.bytes(SigTag.pgp),
    gpg: s.bytes(SigTag.gpg),
  };
  const shown = signatures.dsaHeader ?? signatures.rsaHeader ?? signatures.gpg ?? signatures.pgp;
  const payloadAlgo = h.number(Tag.payloadDigestAlgo);
  const taggedAlgo = payloadAlgo === null ? null : (hashAlgoNames[payloadAlgo] ?? `unknown(${payloadAlgo})`);
  return {
    name: h.string(Tag.name) ?? '',
    epoch: h.number(Tag.epoch),
    version: h.string(Tag.version) ?? '',
    release: h.string(Tag.release) ?? '',
    arch: isSource ? (h.has(Tag.noSource) || h.has(Tag.noPatch) ? 'nosrc' : 'src') : headerArch,
    headerArch,
    isSource,
    license: h.string(Tag.license) ?? '',
    sourceRpm: isSource ? null : h.string(Tag.sourceRpm),
    buildHost: h.string(Tag.buildHost) ?? '',
    buildTime: h.number(Tag.buildTime) ?? 0,
    rpmFormat: h.number(Tag.rpmFormat) ?? 4,
    sigmd5: hexOf(s.bytes(SigTag.md5)),
    sha1Header: s.string(SigTag.sha1),
    sha256Header: s.string(SigTag.sha256),
    sha3_256Header: s.string(SigTag.sha3_256),
    payloadDigest: h.string(Tag.payloadDigest),
    payloadDigestAlt: h.string(Tag.payloadDigestAlt),
    payloadDigestAlgo: taggedAlgo,
    payloadDigests: payloadDigests(h, taggedAlgo),
    signedSize: s.number(SigTag.longSize) ?? s.number(SigTag.size),
    payloadSize: h.number(Tag.payloadSize),
    payloadSizeAlt: h.number(Tag.payloadSizeAlt),
    signatures,
    signer: shown ? parsePgpSignature(shown) : null,
    dependencies: dependencies(h),
    files: files(h),
    fileDigestAlgo: hashAlgoNames[h.number(Tag.fileDigestAlgo) ?? defaultFileDigestAlgo] ?? 'unknown',
    payloadFormat: h.string(Tag.payloadFormat),
    payloadCompressor: h.string(Tag.payloadCompressor),
    payloadFlags: h.string(Tag.payloadFlags),
    headerOffset: headers.headerOffset,
    headerLength: headers.headerLength,
  };
}

/** Reads an RPM file's headers (never its payload) and describes the package. */
export async function readRpmPackage(source: RpmSource): Promise<RpmPackageInfo> {
  return packageInfo(await readRpmHeaders(source));
}

/** rpm's `%{sigmd5}`, as Mock's lockfile records it: hex, or `(none)` for a v6 package. */
export function sigmd5Text(info: RpmPackageInfo): string {
  return info.sigmd5 ?? '(none)';
}

/** rpm's `%{sigpgp:pgpsig}`: null where rpm prints "(none)". */
export function sigpgpString(info: RpmPackageInfo): string | null {
  return formatPgpsig(info.signatures.pgp);
}

/** What Mock records as `signature` in buildroot_lock.json for this package. */
export function lockfileSignature(info: RpmPackageInfo): string | null {
  return signatureFromPgpsig(sigpgpString(info) ?? '(none)');
}
