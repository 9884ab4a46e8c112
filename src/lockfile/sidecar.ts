/**
 * buildroot_lock.isomock.json: what isomock records beside Mock's lockfile
 * (whose schema forbids extra fields). Per locked package, keyed by
 * N-E:V-R.A: the SHA-256 and size of the RPM file, the repository it came
 * from and, for metalink/mirrorlist repositories, the mirror used. With it,
 * a downloaded file must be byte for byte the one the buildroot was
 * calculated with, not only carry the same SIGMD5 (a re-signed package keeps
 * its SIGMD5 but is another file). Fields isomock could not learn are null.
 * Mock's lockfiles come without one; everything works without it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ExitCode, IsomockError } from '../errors.js';
import { pythonJsonDumps, type JsonValue } from './python-json.js';
import type { LockedRpm } from './lockfile.js';

export const sidecarVersion = 1;

export interface SidecarPackage {
  /** The locked SIGMD5, so a sidecar left beside a newer lockfile is noticed. */
  sigmd5: string;
  sha256: string | null;
  size: number | null;
  /** The package manager's repo id. */
  repo: string | null;
  /** Base URL of the mirror the package came from; null for a baseurl repository. */
  mirror: string | null;
}

export interface Sidecar {
  isomock_lock_version: typeof sidecarVersion;
  packages: Record<string, SidecarPackage>;
}

/** Where the sidecar of a lockfile lives: buildroot_lock.json -> buildroot_lock.isomock.json. */
export function sidecarPathFor(lockfile: string): string {
  return join(dirname(lockfile), `${basename(lockfile).replace(/\.json$/, '')}.isomock.json`);
}

/** The key of a package: N-E:V-R.A, epoch always written (0 when none) so one package has one key. */
export function sidecarKey(rpm: Pick<LockedRpm, 'name' | 'epoch' | 'version' | 'release' | 'arch'>): string {
  return `${rpm.name}-${rpm.epoch ?? '0'}:${rpm.version}-${rpm.release}.${rpm.arch}`;
}

/** Sorted keys, 2-space indent, trailing newline: the same record gives the same bytes. */
export function serializeSidecar(sidecar: Sidecar): string {
  return pythonJsonDumps(sidecar as unknown as JsonValue, { indent: 2 }) + '\n';
}

const nullableString = (v: unknown): boolean => v === null || typeof v === 'string';

function badEntry(key: string, e: Record<string, unknown>): string | undefined {
  // `(none)`: a v6 package, as rpm prints and the lockfile records it.
  if (typeof e['sigmd5'] !== 'string' || !/^([0-9a-f]{32}|\(none\))$/.test(e['sigmd5']))
    return 'sigmd5 is not 32 hex digits or (none)';
  if (e['sha256'] !== null && (typeof e['sha256'] !== 'string' || !/^[0-9a-f]{64}$/.test(e['sha256'])))
    return 'sha256 is neither null nor 64 hex digits';
  if (e['size'] !== null && !Number.isSafeInteger(e['size'])) return 'size is neither null nor a whole number';
  if (!nullableString(e['repo']) || !nullableString(e['mirror'])) return 'repo and mirror must be strings or null';
  return /^[^\s]+-\d+:[^\s]+-[^\s]+\.[^\s.]+$/.test(key) ? undefined : 'the key is not N-E:V-R.A';
}

export function parseSidecar(text: string, source: string): Sidecar {
  const bad = (what: string): IsomockError =>
    new IsomockError(`invalid isomock lock record ${source}: ${what}`, ExitCode.badCmdline);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`);
  }
  const record = data as Partial<Sidecar> | null;
  if (record?.isomock_lock_version !== sidecarVersion) {
    throw bad(
      `unsupported isomock_lock_version ${JSON.stringify(record?.isomock_lock_version)} (isomock reads ${sidecarVersion})`,
    );
  }
  if (typeof record.packages !== 'object' || record.packages === null || Array.isArray(record.packages))
    throw bad('packages is not an object');
  for (const [key, entry] of Object.entries(record.packages)) {
    const problem =
      typeof entry === 'object' && entry !== null
        ? badEntry(key, entry as unknown as Record<string, unknown>)
        : 'not an object';
    if (problem) throw bad(`packages["${key}"]: ${problem}`);
  }
  return record as Sidecar;
}

/** Reads a sidecar file; `undefined` when it does not exist (Mock's lockfiles have none). */
export function readSidecar(path: string, required: boolean): Sidecar | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return undefined;
    throw new IsomockError(
      `cannot read isomock lock record ${path}: ${code ?? (err as Error).message}`,
      ExitCode.badCmdline,
    );
  }
  return parseSidecar(text, path);
}

/**
 * The sidecar's entry for a locked package, checked to belong to it. A
 * package the sidecar does not list is not checked (undefined); one it lists
 * with another SIGMD5 means the two files do not belong together.
 */
export function sidecarEntry(sidecar: Sidecar | undefined, rpm: LockedRpm, source: string): SidecarPackage | undefined {
  const entry = sidecar?.packages[sidecarKey(rpm)];
  if (entry && entry.sigmd5 !== rpm.sigmd5) {
    throw new IsomockError(
      `isomock lock record ${source} does not belong to this lockfile: it has SIGMD5 ${entry.sigmd5} for ${sidecarKey(rpm)}, the lockfile ${rpm.sigmd5}`,
      ExitCode.badCmdline,
    );
  }
  return entry;
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Throws, naming the file, when its size or SHA-256 is not the recorded one (null fields are not checked). */
export async function verifyAgainstSidecar(path: string, entry: SidecarPackage, shownAs = path): Promise<void> {
  const fail = (what: string): never => {
    throw new IsomockError(`${shownAs} is not the file the buildroot was calculated with: ${what}`, ExitCode.error);
  };
  const size = statSync(path).size;
  if (entry.size !== null && size !== entry.size)
    fail(`it has ${size} bytes, the isomock lock record says ${entry.size}`);
  if (entry.sha256 !== null) {
    const actual = await sha256OfFile(path);
    if (actual !== entry.sha256) fail(`its SHA-256 is ${actual}, the isomock lock record says ${entry.sha256}`);
  }
}
