/**
 * buildroot_lock.json: Mock's record of a buildroot (every installed RPM and
 * where it came from, the bootstrap image, the config that matters). isomock
 * reads Mock's files and writes files Mock reads, byte for byte as Mock does.
 */
import type { ErrorObject } from 'ajv';
import { IsomockError, ExitCode } from '../errors.js';
import { pythonJsonDumps, type JsonValue } from './python-json.js';
import { lockfileSchemas, type LockfileVersion } from './schema.js';
import { validate_1_0_0, validate_1_1_0 } from './validators.js';

export interface LockedRpm {
  name: string;
  epoch: string | null;
  version: string;
  release: string;
  arch: string;
  license: string;
  sigmd5: string;
  /** Last 8 hex digits of the signing key ID, or null for an unsigned package. */
  signature: string | null;
  /** Where the package was downloaded from (repoquery --location), not the RPM's URL tag. */
  url: string;
}

export interface LockedBootstrap {
  image_digest: string;
  pull_digest?: string;
  architecture?: string;
  id?: string;
}

export interface Lockfile {
  version: LockfileVersion;
  buildroot: { rpms: LockedRpm[] };
  bootstrap?: LockedBootstrap;
  config: Record<string, JsonValue>;
}

/** The config keys Mock's buildroot_lock plugin records, when present. */
export const recordedConfigKeys = [
  'target_arch',
  'legal_host_arches',
  'dist',
  'package_manager',
  'bootstrap_image',
  'bootstrap_image_ready',
  'macros',
] as const;

/**
 * The config keys isomock takes back from a lockfile for --isolated-build:
 * those that define the buildroot. Mock copies every key, so a crafted lockfile
 * could set any option; isomock ignores the rest.
 */
export const buildrootDefiningKeys: readonly string[] = recordedConfigKeys;

export const currentLockfileVersion: LockfileVersion = '1.1.0';

/** The schemas compiled at build time (scripts/generate-validators.mjs): no ajv at run time. */
const validators = { '1.0.0': validate_1_0_0, '1.1.0': validate_1_1_0 };

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`)
    .join('; ');
}

function badLockfile(source: string, what: string): IsomockError {
  return new IsomockError(`invalid lockfile ${source}: ${what}`, ExitCode.badCmdline);
}

/**
 * Parses and validates a lockfile: Mock's schema for its declared version,
 * then what the schema cannot say (safe package file names, http(s) URLs).
 */
export function parseLockfile(text: string, source: string): Lockfile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw badLockfile(source, `not JSON (${(err as Error).message})`);
  }
  const version = (data as { version?: unknown } | null)?.version;
  if (typeof version !== 'string' || !(version in lockfileSchemas)) {
    throw badLockfile(source, `unsupported version ${JSON.stringify(version)} (isomock reads 1.0.0 and 1.1.0)`);
  }
  const validate = validators[version as LockfileVersion];
  if (!validate(data)) throw badLockfile(source, describe(validate.errors));
  const lock = data as Lockfile;
  lock.buildroot.rpms.forEach((rpm, i) => checkRpmEntry(rpm, `${source}: buildroot.rpms[${i}] (${rpm.name})`));
  return lock;
}

function checkRpmEntry(rpm: LockedRpm, where: string): void {
  let url: URL;
  try {
    url = new URL(rpm.url);
  } catch {
    throw new IsomockError(
      `invalid lockfile ${where}: url ${JSON.stringify(rpm.url)} is not a URL`,
      ExitCode.badCmdline,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new IsomockError(`invalid lockfile ${where}: url ${rpm.url} is not http(s)`, ExitCode.badCmdline);
  }
  rpmFileName(rpm, where);
  // rpm prints `(none)` for a v6 package, which has no MD5; Mock records what rpm prints.
  if (!/^[0-9a-f]{32}$/.test(rpm.sigmd5) && rpm.sigmd5 !== '(none)') {
    throw new IsomockError(
      `invalid lockfile ${where}: sigmd5 ${JSON.stringify(rpm.sigmd5)} is not 32 hex digits or (none)`,
      ExitCode.badCmdline,
    );
  }
}

/**
 * The file name a locked RPM gets in the offline repository: the URL's last
 * path segment, decoded (as Mock saves it), refused when it could name
 * anything but a plain file in that directory.
 */
export function rpmFileName(rpm: LockedRpm, where = rpm.name): string {
  const segment = new URL(rpm.url).pathname.split('/').pop() ?? '';
  let name: string;
  try {
    name = decodeURIComponent(segment);
  } catch {
    throw new IsomockError(`invalid lockfile ${where}: url ${rpm.url} has a malformed escape`, ExitCode.badCmdline);
  }
  if (!name.endsWith('.rpm') || name.includes('/') || name.includes('\0') || name.startsWith('.')) {
    throw new IsomockError(
      `invalid lockfile ${where}: url ${rpm.url} does not end in a safe *.rpm file name`,
      ExitCode.badCmdline,
    );
  }
  return name;
}

/** Serializes as Mock does: json.dumps(indent=4, sort_keys=True) plus a newline. */
export function serializeLockfile(lock: Lockfile): string {
  return pythonJsonDumps(lock as unknown as JsonValue, { indent: 4 }) + '\n';
}

/** Mock's `signature` field: the last 8 characters of rpm's `%{sigpgp:pgpsig}`, null when unsigned. */
export function signatureFromPgpsig(pgpsig: string): string | null {
  if (pgpsig === '(none)' || pgpsig === '') return null;
  const lastToken = pgpsig.trim().split(/\s+/).pop()!;
  return lastToken.slice(-8);
}

/** `name-[epoch:]version-release.arch`, the epoch shown only when it is not 0, as rpm and dnf print it. */
export function nevra(rpm: Pick<LockedRpm, 'name' | 'epoch' | 'version' | 'release' | 'arch'>): string {
  const epoch = rpm.epoch && rpm.epoch !== '0' ? `${rpm.epoch}:` : '';
  return `${rpm.name}-${epoch}${rpm.version}-${rpm.release}.${rpm.arch}`;
}
