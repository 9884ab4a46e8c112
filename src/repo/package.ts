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

/** The package's pkgid (the checksum primary marks with pkgid="YES"). */
export function pkgid(pkg: RepoPackage): string {
  return pkg.checksum.value;
}

/**
 * Splits `name-[epoch:]version-release.arch` (an rpm file name without `.rpm`
 * too); returns undefined when the text cannot be a NEVRA.
 */
export function parseNevra(
  text: string,
): Pick<RepoPackage, 'name' | 'epoch' | 'version' | 'release' | 'arch'> | undefined {
  const dot = text.lastIndexOf('.');
  const relDash = text.lastIndexOf('-', dot);
  const verDash = text.lastIndexOf('-', relDash - 1);
  if (dot < 0 || relDash < 0 || verDash <= 0) return undefined;
  const name = text.slice(0, verDash);
  const ev = text.slice(verDash + 1, relDash);
  const colon = ev.indexOf(':');
  const epoch = colon >= 0 ? ev.slice(0, colon) : '0';
  const version = ev.slice(colon + 1);
  if (!/^\d+$/.test(epoch) || !name || !version) return undefined;
  return { name, epoch, version, release: text.slice(relDash + 1, dot), arch: text.slice(dot + 1) };
}
