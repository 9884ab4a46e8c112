/**
 * buildroot_lock.isomock.json: what isomock records beside Mock's lockfile
 * (whose schema forbids extra fields). Per locked package, keyed by
 * N-E:V-R.A: the SHA-256 and size of the RPM file, the repository it came
 * from and, for metalink/mirrorlist repositories, the mirror used. With it,
 * a downloaded file must be byte for byte the one the buildroot was
 * calculated with, not only carry the same SIGMD5 (a re-signed package keeps
 * its SIGMD5 but is another file). Fields isomock could not learn are null.
 * Where the calculate step's check of a package's URL was redirected, the
 * final origin and path (never a query string or user info); and, per
 * origin, which network settings it used (a proxy, a CA of its own, a
 * client certificate: names only, never a value), so that isolated-repo,
 * which takes none from here, can say which option a failed download needs.
 * Mock's lockfiles come without one; everything works without it.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, lstatSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ExitCode, IsomockError } from '../errors.js';
import { openRegularFile } from '../util/no-follow.js';
import { badHttpUrl, badLineText, badNameComponent } from '../util/untrusted-text.js';
import { pythonJsonDumps, type JsonValue } from '../python/json.js';
import type { LockedRpm } from './lockfile.js';

export const recordVersion = 1;

export interface RecordedPackage {
  /** The locked SIGMD5, so a record left beside a newer lockfile is noticed. */
  sigmd5: string;
  sha256: string | null;
  size: number | null;
  /** The package manager's repo id. */
  repo: string | null;
  /** Base URL of the mirror the package came from; null for a baseurl repository. */
  mirror: string | null;
  /** Where its URL's redirects ended (origin and path), when they did elsewhere. */
  final_url?: string;
}

/** Network settings the calculate step used for an origin (record.network). */
const networkNotes = ['ca', 'client-cert', 'proxy'] as const;
export type NetworkNote = (typeof networkNotes)[number];

/**
 * An SRPM the buildroot was calculated for: the one given, and the one the
 * calculate step wrote (rpmbuild -bs makes other bytes of the same package).
 * --isolated-build refuses any other unless told to accept it.
 */
interface RecordedSrpm {
  /** Its file name, for messages. */
  name: string;
  sha256: string;
}

export interface IsomockRecord {
  isomock_lock_version: typeof recordVersion;
  packages: Record<string, RecordedPackage>;
  /** Absent in records written before isomock recorded them. */
  srpms?: RecordedSrpm[];
  /** By origin (`scheme://host:port`): the settings used to reach it; absent when none was. */
  network?: Record<string, NetworkNote[]>;
}

/** Where the record of a lockfile lives: buildroot_lock.json -> buildroot_lock.isomock.json. */
export function recordPathFor(lockfile: string): string {
  return join(dirname(lockfile), `${basename(lockfile).replace(/\.json$/, '')}.isomock.json`);
}

/** The key of a package: N-E:V-R.A, epoch always written (0 when none) so one package has one key. */
export function recordKey(rpm: Pick<LockedRpm, 'name' | 'epoch' | 'version' | 'release' | 'arch'>): string {
  return `${rpm.name}-${rpm.epoch ?? '0'}:${rpm.version}-${rpm.release}.${rpm.arch}`;
}

/** Sorted keys, 2-space indent, trailing newline: the same record gives the same bytes. */
export function serializeRecord(record: IsomockRecord): string {
  return pythonJsonDumps(record as unknown as JsonValue, { indent: 2 }) + '\n';
}

const hex = (n: number) => new RegExp(`^[0-9a-f]{${n}}$`);

/** Why a value is not the one its field holds; undefined when it is. Every field, and no other. */
function badFields(
  e: Record<string, unknown>,
  fields: Record<string, (v: unknown) => string | undefined>,
): string | undefined {
  const extra = Object.keys(e).find((k) => !Object.hasOwn(fields, k));
  if (extra !== undefined) return `unknown field ${JSON.stringify(extra)}`;
  for (const [field, check] of Object.entries(fields)) {
    const problem = check(e[field]);
    if (problem !== undefined) return `${field} ${problem}`;
  }
  return undefined;
}

const sha256Field = (v: unknown) => (typeof v === 'string' && hex(64).test(v) ? undefined : 'is not 64 hex digits');
const nullable =
  (check: (v: unknown) => string | undefined) =>
  (v: unknown): string | undefined =>
    v === null ? undefined : check(v);

const packageFields: Record<string, (v: unknown) => string | undefined> = {
  sigmd5: (v) =>
    typeof v === 'string' && (hex(32).test(v) || v === '(none)') ? undefined : 'is not 32 hex digits or (none)',
  sha256: nullable(sha256Field),
  size: nullable((v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? undefined : 'is not a size in bytes')),
  repo: nullable((v) => (typeof v === 'string' ? badLineText(v) : 'is not a string')),
  mirror: nullable((v) => (typeof v === 'string' ? badHttpUrl(v) : 'is not a string')),
  final_url: (v) =>
    v === undefined
      ? undefined
      : typeof v === 'string' && !/[?#@]/.test(v)
        ? badHttpUrl(v)
        : 'is not an origin and path',
};

function badNetwork(v: unknown): string | undefined {
  if (!isObject(v)) return 'is not an object';
  for (const [origin, notes] of Object.entries(v)) {
    if (!/^https?:\/\/[^/?#@\s]+:\d+$/.test(origin)) return `key ${JSON.stringify(origin)} is not an origin`;
    if (!Array.isArray(notes) || !notes.every((n) => (networkNotes as readonly unknown[]).includes(n)))
      return `[${JSON.stringify(origin)}] is not a list of ${networkNotes.join(', ')}`;
  }
  return undefined;
}

const srpmFields: Record<string, (v: unknown) => string | undefined> = {
  name: (v) => (typeof v === 'string' ? badNameComponent(v) : 'is not a string'),
  sha256: sha256Field,
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses a record: it travels with the lockfile, so every field is checked for its exact form. */
export function parseRecord(text: string, source: string): IsomockRecord {
  const bad = (what: string): IsomockError =>
    new IsomockError(`invalid isomock record ${source}: ${what}`, ExitCode.badCmdline);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`);
  }
  if (!isObject(data)) throw bad('not an object');
  if (data['isomock_lock_version'] !== recordVersion) {
    throw bad(
      `unsupported isomock_lock_version ${JSON.stringify(data['isomock_lock_version'])} (isomock reads ${recordVersion})`,
    );
  }
  const extra = Object.keys(data).find((k) => !['isomock_lock_version', 'packages', 'srpms', 'network'].includes(k));
  if (extra !== undefined) throw bad(`unknown field ${JSON.stringify(extra)}`);
  if (!isObject(data['packages'])) throw bad('packages is not an object');
  for (const [key, entry] of Object.entries(data['packages'])) {
    const problem = !/^[^\s/]+-\d+:[^\s/]+-[^\s/]+\.[^\s./]+$/.test(key)
      ? 'the key is not N-E:V-R.A'
      : isObject(entry)
        ? badFields(entry, packageFields)
        : 'not an object';
    if (problem) throw bad(`packages[${JSON.stringify(key)}]: ${problem}`);
  }
  const network = data['network'] === undefined ? undefined : badNetwork(data['network']);
  if (network) throw bad(`network ${network}`);
  const srpms = data['srpms'];
  if (srpms !== undefined) {
    if (!Array.isArray(srpms)) throw bad('srpms is not a list');
    srpms.forEach((srpm: unknown, i) => {
      const problem = isObject(srpm) ? badFields(srpm, srpmFields) : 'not an object';
      if (problem) throw bad(`srpms[${i}]: ${problem}`);
    });
  }
  return data as unknown as IsomockRecord;
}

/**
 * Reads a record file; `undefined` when it does not exist (Mock's lockfiles
 * have none). The one found beside the lockfile sits in a result directory
 * others may write: a symlink or FIFO planted there is refused, never
 * followed or waited on. One named on the command line (`required`) is read
 * as given.
 */
export function readRecord(path: string, required: boolean): IsomockRecord | undefined {
  if (!required) {
    if (!lstatSync(path, { throwIfNoEntry: false })) return undefined;
    const file = openRegularFile(path, `isomock record ${path}`);
    try {
      return parseRecord(readFileSync(file.fd, 'utf8'), path);
    } finally {
      closeSync(file.fd);
    }
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new IsomockError(
      `cannot read isomock record ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      ExitCode.badCmdline,
    );
  }
  return parseRecord(text, path);
}

/**
 * The record's entry for a locked package, checked to belong to it. A
 * package the record does not list is not checked (undefined); one it lists
 * with another SIGMD5 means the two files do not belong together.
 */
export function recordEntry(
  record: IsomockRecord | undefined,
  rpm: LockedRpm,
  source: string,
): RecordedPackage | undefined {
  const key = recordKey(rpm);
  const entry = record && Object.hasOwn(record.packages, key) ? record.packages[key] : undefined;
  if (entry && entry.sigmd5 !== rpm.sigmd5) {
    throw new IsomockError(
      `isomock record ${source} does not belong to this lockfile: it has SIGMD5 ${entry.sigmd5} for ${key}, the lockfile ${rpm.sigmd5}`,
      ExitCode.badCmdline,
    );
  }
  return entry;
}

export async function sha256OfFile(path: string): Promise<string> {
  return sha256Hex(createReadStream(path));
}

export async function sha256Hex(stream: NodeJS.ReadableStream): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(stream, hash);
  return hash.digest('hex');
}

/**
 * Throws, naming the file, when its size or SHA-256 is not the recorded one
 * (null fields are not checked). `file` is a descriptor opened by the caller
 * (util/no-follow.ts), or the size of the bytes it read; `sha256` is what
 * the caller's read of it hashed to.
 */
export function verifyAgainstRecord(
  file: { size: number },
  entry: RecordedPackage,
  shownAs: string,
  sha256: string,
): void {
  const fail = (what: string): never => {
    throw new IsomockError(`${shownAs} is not the file the buildroot was calculated with: ${what}`, ExitCode.error);
  };
  if (entry.size !== null && file.size !== entry.size)
    fail(`it has ${file.size} bytes, the isomock record says ${entry.size}`);
  if (entry.sha256 !== null) {
    if (sha256 !== entry.sha256) fail(`its SHA-256 is ${sha256}, the isomock record says ${entry.sha256}`);
  }
}
