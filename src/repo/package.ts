/** One package as the repository metadata describes it. */

export interface Checksum {
  type: string;
  value: string;
}

/** A Provides entry: a name and, for versioned ones, a comparison (EQ, GE, ...). */
export interface Provide {
  name: string;
  flags?: string;
  epoch?: string;
  version?: string;
  release?: string;
}

export interface RepoPackage {
  name: string;
  epoch: string;
  version: string;
  release: string;
  arch: string;
  /** The package's checksum, which is also its identity across primary/filelists/other. */
  checksum: Checksum;
  /** `location href`, relative to `locationBase` or to the repository's base URL. */
  locationHref: string;
  /** `xml:base` of the location, when the metadata points elsewhere for the file. */
  locationBase?: string;
  /** Size of the .rpm file, in bytes. */
  size: number;
  installedSize: number;
  sourceRpm?: string;
  provides: Provide[];
  /** Files known to the index: those in primary, plus all of filelists once read. */
  files: string[];
}
