/**
 * Loads a repository's metadata into a PackageIndex: finds a mirror, reads
 * repomd.xml, then streams primary (and filelists, comps) through checksum
 * verification and decompression into the parsers.
 */
import { ExitCode, IsomockError } from '../errors.js';
import { decompress } from '../util/decompress.js';
import { verifyStream } from './checksum.js';
import { readComps, type CompsGroup } from './comps.js';
import { readLocation, resolveLocation, type FetchOptions } from './fetch.js';
import { readFilelists, readOther, type ChangelogEntry } from './package-details.js';
import { resolveMirror, type RepoSource } from './mirrors.js';
import { PackageIndex } from './package-index.js';
import type { RepoPackage } from './package.js';
import { readPrimary } from './primary.js';
import { parseRepoMd, type RepoMd, type RepoMdRecord } from './repomd.js';
import { XmlSyntaxError } from './xml-stream.js';

export interface LoadOptions extends FetchOptions {
  /** Read filelists too, so that whatProvides() knows every file (default true). */
  filelists?: boolean;
}

export interface Repository {
  id: string;
  /** The mirror (or baseurl) the metadata came from. */
  baseUrl: string;
  skippedMirrors: { url: string; reason: string }[];
  repomd: RepoMd;
  index: PackageIndex;
  /** Empty when the repository has no group file. */
  groups: CompsGroup[];
  fetchOptions: FetchOptions;
}

// Compressed variants first (less to download); zchunk is not read.
const groupTypes = ['group_zst', 'group_xz', 'group_gz', 'group_bz2', 'group'];

export async function loadRepository(source: RepoSource, options: LoadOptions = {}): Promise<Repository> {
  const { filelists = true, ...fetchOptions } = options;
  const mirror = await resolveMirror(source, fetchOptions);
  const repomdUrl = resolveLocation(mirror.baseUrl, 'repodata/repomd.xml');
  const repomd = await parseWith(repomdUrl, () => parseRepoMd(mirror.repomdXml));
  const repo: Repository = {
    id: source.id,
    baseUrl: mirror.baseUrl,
    skippedMirrors: mirror.skipped,
    repomd,
    index: new PackageIndex(),
    groups: [],
    fetchOptions,
  };
  const primary = record(repo, 'primary', repomdUrl);
  await readRecord(repo, primary, (stream) => readPrimary(stream, (pkg) => repo.index.add(pkg)));
  if (filelists) {
    await readRecord(repo, record(repo, 'filelists', repomdUrl), (stream) =>
      readFilelists(stream, (pkgid, files) => {
        if (!repo.index.addFiles(pkgid, files)) {
          throw new IsomockError(
            `${resolveLocation(repo.baseUrl, primary.href)}: filelists names package ${pkgid}, which primary lacks`,
            ExitCode.packageManager,
          );
        }
      }),
    );
  }
  const group = groupTypes.map((type) => repomd.records.get(type)).find((r) => r !== undefined);
  if (group) repo.groups = await readRecord(repo, group, readComps);
  return repo;
}

/** Streams other.xml (changelogs), which is too big to keep and rarely needed. */
export async function readChangelogs(
  repo: Repository,
  onPackage: (pkgid: string, changelog: ChangelogEntry[]) => void,
): Promise<void> {
  const repomdUrl = resolveLocation(repo.baseUrl, 'repodata/repomd.xml');
  await readRecord(repo, record(repo, 'other', repomdUrl), (stream) => readOther(stream, onPackage));
}

/** Where the package's .rpm file is: its xml:base if any, else the mirror. */
export function packageLocation(repo: Repository, pkg: RepoPackage): string {
  return resolveLocation(pkg.locationBase ?? repo.baseUrl, pkg.locationHref);
}

function record(repo: Repository, type: string, repomdUrl: string): RepoMdRecord {
  const found = repo.repomd.records.get(type);
  if (!found) throw new IsomockError(`${repomdUrl}: no "${type}" metadata listed`, ExitCode.packageManager);
  return found;
}

/** Runs `parse` over the verified, decompressed content of one repomd record. */
async function readRecord<T>(
  repo: Repository,
  rec: RepoMdRecord,
  parse: (stream: AsyncIterable<Uint8Array>) => Promise<T>,
): Promise<T> {
  const url = resolveLocation(repo.baseUrl, rec.href);
  const raw = verifyStream(readLocation(url, repo.fetchOptions), rec.checksum, rec.size, url);
  const open = verifyStream(decompressing(raw, url), rec.openChecksum, rec.openSize, `${url} (uncompressed)`);
  return parseWith(url, () => parse(open));
}

async function* decompressing(source: AsyncIterable<Uint8Array>, url: string): AsyncGenerator<Uint8Array> {
  try {
    yield* decompress(source);
  } catch (error) {
    if (error instanceof IsomockError) throw error;
    throw new IsomockError(`${url}: cannot decompress: ${(error as Error).message}`, ExitCode.packageManager);
  }
}

async function parseWith<T>(url: string, parse: () => Promise<T>): Promise<T> {
  try {
    return await parse();
  } catch (error) {
    if (error instanceof IsomockError) throw error;
    const what = error instanceof XmlSyntaxError ? 'malformed XML' : 'invalid metadata';
    throw new IsomockError(`${url}: ${what}: ${(error as Error).message}`, ExitCode.packageManager);
  }
}
