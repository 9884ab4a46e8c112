/** The generator's description of one world package, before it is built. */
import type { RepoId, Signature } from '../manifest.js';

interface DebianContent {
  /** Debian packages whose installed files are wrapped. */
  debs: string[];
  /** The Debian package whose version the RPM takes (default: the first). */
  versionFrom?: string;
  /** Keep only paths (after folding into /usr) matching this. */
  only?: RegExp;
  /** Drop paths (after folding) matching this. */
  skip?: RegExp;
}

export interface PackageDef {
  name: string;
  summary: string;
  arch: 'x86_64' | 'noarch';
  repo: RepoId;
  signature: Signature;
  /** Fixed EVR for synthetic packages; Debian-wrapped ones take the deb's. */
  epoch?: number;
  version?: string;
  release?: string;
  debian?: DebianContent;
  /** Synthetic files: absolute path -> text; under a bin/ dir they are executable. */
  files?: Record<string, string>;
  /** Absolute path -> link target. */
  symlinks?: Record<string, string>;
  /** Directories the package owns, with their mode. */
  dirs?: Array<[path: string, mode: number]>;
  /** Paths installed as %config(noreplace). */
  config?: string[];
  requires?: string[];
  provides?: string[];
  conflicts?: string[];
  obsoletes?: string[];
  recommends?: string[];
  /** In the buildsys-build comps group. */
  buildsys?: boolean;
}
