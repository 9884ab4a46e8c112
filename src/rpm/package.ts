/**
 * What isomock needs to know about one .rpm / .src.rpm file, read from its
 * headers only (the payload is never read here).
 */
import { signatureFromPgpsig } from '../lockfile/lockfile.js';
import type { Dependency } from './deps.js';
import type { RpmHeader } from './header.js';
import { formatPgpsig, parsePgpSignature, type PgpSignature } from './header-pgp.js';
import { readRpmHeaders, type RpmHeaders, type RpmSource } from './header-stream.js';
import { SigTag, Tag, hashAlgoNames } from './tags.js';

export interface RpmFile {
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

export interface RpmSignatures {
  /** RSA header-only signature (RSAHEADER). */
  rsaHeader: Buffer | null;
  /** DSA (or EdDSA/ECDSA) header-only signature (DSAHEADER). */
  dsaHeader: Buffer | null;
  /** Legacy header+payload signatures written by `rpmsign --rpmv3`: RSA (SIGPGP) and DSA (SIGGPG). */
  pgp: Buffer | null;
  gpg: Buffer | null;
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
  /** MD5 of main header + payload, hex. */
  sigmd5: string | null;
  /** Digests of the main header blob, hex. */
  sha1Header: string | null;
  sha256Header: string | null;
  /** Digest of the compressed payload, and of the uncompressed one (hex). */
  payloadDigest: string | null;
  payloadDigestAlt: string | null;
  /** node:crypto name of the payload digests' algorithm. */
  payloadDigestAlgo: string | null;
  /** Header + payload size recorded in the signature header. */
  signedSize: number | null;
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
    sigmd5: hexOf(s.bytes(SigTag.md5)),
    sha1Header: s.string(SigTag.sha1),
    sha256Header: s.string(SigTag.sha256),
    payloadDigest: h.string(Tag.payloadDigest),
    payloadDigestAlt: h.string(Tag.payloadDigestAlt),
    payloadDigestAlgo: payloadAlgo === null ? null : (hashAlgoNames[payloadAlgo] ?? `unknown(${payloadAlgo})`),
    signedSize: s.number(SigTag.longSize) ?? s.number(SigTag.size),
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

/** rpm's `%{sigpgp:pgpsig}`: null where rpm prints "(none)". */
export function sigpgpString(info: RpmPackageInfo): string | null {
  return formatPgpsig(info.signatures.pgp);
}

/** What Mock records as `signature` in buildroot_lock.json for this package. */
export function lockfileSignature(info: RpmPackageInfo): string | null {
  return signatureFromPgpsig(sigpgpString(info) ?? '(none)');
}
