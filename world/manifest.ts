/**
 * world.json: what the generated world contains, so tests and later code read
 * names, files and expectations from here instead of hard-coding them.
 */
export type RepoId = 'base' | 'updates';

/** 'header+payload' packages also carry the legacy (rpmv3) signature tags. */
export type Signature = 'none' | 'header' | 'header+payload';

export interface WorldRepo {
  id: RepoId;
  /** Directory under the world dir (also the URL path when served). */
  dir: string;
  name: string;
  /** The repo carries comps.xml (groups). */
  comps: boolean;
}

export interface WorldPackage {
  name: string;
  epoch: number;
  version: string;
  release: string;
  arch: 'x86_64' | 'noarch';
  repo: RepoId;
  /** Path relative to the world dir. */
  file: string;
  signature: Signature;
  /** Member of the buildsys-build group. */
  buildsys: boolean;
}

export type SrpmExpectation = 'builds' | 'fails' | 'needs-network';

export interface WorldSrpm {
  name: string;
  /** Path relative to the world dir. */
  file: string;
  expect: SrpmExpectation;
  /** Names of the binary RPMs a successful build produces. */
  binaries: string[];
  /** Install rounds %generate_buildrequires needs (0: static BuildRequires only). */
  dynamicRounds: number;
  /** A BuildRequires is a file listed only in filelists.xml. */
  filelists?: boolean;
}

export interface WorldManifest {
  schema: 1;
  /** The cache key the world was built under. */
  key: string;
  arch: 'x86_64';
  releasever: string;
  dist: string;
  /** Where the world's own rpm keeps its database (the macros package sets it). */
  dbpath: string;
  /** The comps group a Mock-style chroot_setup_cmd installs. */
  buildsysGroup: string;
  /** The macro the network-probing SRPM reads its loopback port from. */
  netProbeMacro: string;
  gpgKey: { file: string; fingerprint: string };
  repos: WorldRepo[];
  packages: WorldPackage[];
  srpms: WorldSrpm[];
}

export interface WorldInfo {
  dir: string;
  manifest: WorldManifest;
}
