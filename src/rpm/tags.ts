/**
 * Tag numbers and data types of the RPM header format (the values are fixed by
 * the file format and shared by every rpm release).
 */

/** Data types of header index entries. */
export const TagType = {
  null: 0,
  char: 1,
  int8: 2,
  int16: 3,
  int32: 4,
  int64: 5,
  string: 6,
  bin: 7,
  stringArray: 8,
  i18nString: 9,
} as const;

/** Tags of the signature header (the header right after the lead). */
export const SigTag = {
  dsa: 267,
  rsa: 268,
  sha1: 269,
  longSize: 270,
  sha256: 273,
  /** rpm 6: the header's OpenPGP signatures, base64 strings (any number of keys). */
  openpgp: 278,
  /** v6 packages: the header's SHA3-256 digest. */
  sha3_256: 279,
  size: 1000,
  pgp: 1002,
  md5: 1004,
  gpg: 1005,
} as const;

/** Tags of the main header. */
export const Tag = {
  name: 1000,
  version: 1001,
  release: 1002,
  epoch: 1003,
  buildTime: 1006,
  buildHost: 1007,
  license: 1014,
  arch: 1022,
  oldFileNames: 1027,
  fileSizes: 1028,
  fileModes: 1030,
  fileDigests: 1035,
  fileLinkTos: 1036,
  fileFlags: 1037,
  fileUserName: 1039,
  fileGroupName: 1040,
  sourceRpm: 1044,
  provideName: 1047,
  requireFlags: 1048,
  requireName: 1049,
  requireVersion: 1050,
  noSource: 1051,
  noPatch: 1052,
  conflictFlags: 1053,
  conflictName: 1054,
  conflictVersion: 1055,
  obsoleteName: 1090,
  sourcePackage: 1106,
  provideFlags: 1112,
  provideVersion: 1113,
  obsoleteFlags: 1114,
  obsoleteVersion: 1115,
  dirIndexes: 1116,
  baseNames: 1117,
  dirNames: 1118,
  payloadFormat: 1124,
  payloadCompressor: 1125,
  payloadFlags: 1126,
  longFileSizes: 5008,
  fileDigestAlgo: 5011,
  recommendName: 5046,
  recommendVersion: 5047,
  recommendFlags: 5048,
  suggestName: 5049,
  suggestVersion: 5050,
  suggestFlags: 5051,
  supplementName: 5052,
  supplementVersion: 5053,
  supplementFlags: 5054,
  enhanceName: 5055,
  enhanceVersion: 5056,
  enhanceFlags: 5057,
  payloadDigest: 5092,
  payloadDigestAlgo: 5093,
  payloadDigestAlt: 5097,
  // rpm 6 (v6 packages): compressed and uncompressed payload sizes, SHA-512 and SHA3-256 payload digests.
  payloadSize: 5112,
  payloadSizeAlt: 5113,
  rpmFormat: 5114,
  payloadSha512: 5121,
  payloadSha512Alt: 5122,
  payloadSha3_256: 5123,
  payloadSha3_256Alt: 5124,
} as const;

/**
 * OpenPGP hash algorithm ids, used by rpm for PAYLOADDIGESTALGO and
 * FILEDIGESTALGO, mapped to node:crypto names.
 */
export const hashAlgoNames: Readonly<Record<number, string>> = {
  1: 'md5',
  2: 'sha1',
  8: 'sha256',
  9: 'sha384',
  10: 'sha512',
  11: 'sha224',
};
