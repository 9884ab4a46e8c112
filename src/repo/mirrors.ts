/**
 * Finds a usable copy of a repository: the first baseurl that answers, or a
 * mirror from a metalink (whose repomd.xml matches the metalink's checksums)
 * or from a mirrorlist. Dead or stale mirrors are skipped and remembered for
 * the error message.
 */
import { ExitCode, IsomockError } from '../errors.js';
import { digest } from './checksum.js';
import { readWhole, resolveLocation, type FetchOptions } from './fetch.js';
import { parseMetalink, type Metalink } from './metalink.js';
import { XmlSyntaxError } from './xml-stream.js';

/** Where a repository is, as a dnf.conf section gives it ($basearch etc. substituted). */
export interface RepoSource {
  id: string;
  baseurl?: string[];
  metalink?: string;
  mirrorlist?: string;
}

export interface ResolvedMirror {
  /** The base URL (or directory) the metadata and packages are read from. */
  baseUrl: string;
  repomdXml: Buffer;
  /** Mirrors tried before this one, and why each was skipped. */
  skipped: { url: string; reason: string }[];
}

export async function resolveMirror(source: RepoSource, options?: FetchOptions): Promise<ResolvedMirror> {
  if (source.baseurl && source.baseurl.length > 0) {
    return firstUsable(source, source.baseurl, undefined, 'baseurl', options);
  }
  const list = source.metalink ?? source.mirrorlist;
  if (!list) {
    throw new IsomockError(`repository ${source.id}: no baseurl, metalink or mirrorlist`, ExitCode.config);
  }
  const text = await readWhole(list, options);
  // dnf accepts a metalink document given as mirrorlist= too.
  if (source.metalink || /<metalink[\s>]/.test(text.subarray(0, 4096).toString('utf8'))) {
    let metalink: Metalink;
    try {
      metalink = await parseMetalink(text);
    } catch (error) {
      if (error instanceof XmlSyntaxError) {
        throw new IsomockError(
          `repository ${source.id}: malformed metalink ${list}: ${error.message}`,
          ExitCode.packageManager,
        );
      }
      throw error;
    }
    return firstUsable(source, metalink.mirrors, metalink, `metalink ${list}`, options);
  }
  const mirrors = text
    .toString('utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  return firstUsable(source, mirrors, undefined, `mirrorlist ${list}`, options);
}

async function firstUsable(
  source: RepoSource,
  mirrors: string[],
  metalink: Metalink | undefined,
  from: string,
  options: FetchOptions | undefined,
): Promise<ResolvedMirror> {
  const skipped: ResolvedMirror['skipped'] = [];
  for (const baseUrl of mirrors) {
    const url = resolveLocation(baseUrl, 'repodata/repomd.xml');
    try {
      const repomdXml = await readWhole(url, options);
      if (metalink && !matchesMetalink(repomdXml, metalink, url)) {
        skipped.push({ url: baseUrl, reason: 'repomd.xml does not match the metalink checksums' });
        continue;
      }
      return { baseUrl, repomdXml, skipped };
    } catch (error) {
      if (!(error instanceof IsomockError)) throw error;
      skipped.push({ url: baseUrl, reason: error.message });
    }
  }
  const tried = skipped.map((s) => `${s.url} (${s.reason})`).join('; ');
  throw new IsomockError(
    `repository ${source.id}: no usable mirror in ${from}: ${tried || 'it lists none'}`,
    ExitCode.packageManager,
  );
}

/** True when every hash of one of the metalink's verification sets matches. */
function matchesMetalink(repomdXml: Buffer, metalink: Metalink, url: string): boolean {
  if (metalink.verifications.length === 0) return true;
  return metalink.verifications.some((set) =>
    set.every((hash) => digest(repomdXml, hash.type, url) === hash.value.toLowerCase()),
  );
}
