/**
 * buildroot_lock.json: Mock's record of a buildroot (every installed RPM and
 * where it came from, the bootstrap image, the config that matters). isomock
 * reads Mock's files and writes files Mock reads, byte for byte as Mock does.
 */
import { readFileSync } from 'node:fs';
import type { ErrorObject } from 'ajv';
import { IsomockError, ExitCode } from '../errors.js';
import { pythonJsonDumps, type JsonValue } from '../python/json.js';
import { lockfileSchemas, type LockfileVersion } from './schema.js';
import { validate_1_0_0, validate_1_1_0 } from './validators.js';
import { badHostPath, badHttpUrl, badLineText, badNameComponent, hostPathMacros } from '../util/untrusted-text.js';

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
  /** Optional in schema 1.0.0 (Mock writes {} when podman fails). */
  image_digest?: string;
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

/**
 * The config keys Mock's buildroot_lock plugin records, when present; also the
 * only keys isomock takes back from a lockfile for --isolated-build: those that
 * define the buildroot. Mock copies every key, so a crafted lockfile could set
 * any option; isomock ignores the rest.
 */
export const recordedConfigKeys = [
  'target_arch',
  'legal_host_arches',
  'dist',
  'package_manager',
  'bootstrap_image',
  'bootstrap_image_ready',
  'macros',
] as const;

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
 * then what the schema cannot say. A lockfile travels, so nothing in it is
 * trusted: every field isomock uses is checked against its exact format
 * here (digests, names that become file names, http(s) URLs, the config
 * values taken for --isolated-build), before any of it reaches a file name,
 * a config file or a host tool.
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
  lock.buildroot.rpms.forEach((rpm, i) => checkRpmEntry(rpm, `${source}: buildroot.rpms[${i}]`));
  if (lock.bootstrap) checkBootstrap(lock.bootstrap, source);
  checkConfig(lock.config, source);
  return lock;
}

/** Reads and parses a lockfile; a missing or unreadable one (or a directory) is one line, exit 5. */
export function readLockfile(path: string): Lockfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new IsomockError(
      `cannot read lockfile ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      ExitCode.badCmdline,
    );
  }
  return parseLockfile(text, path);
}

/** Throws naming the field when `problem` is a reason (from util/untrusted-text or a format check). */
function refuse(where: string, field: string, value: unknown, problem: string | undefined): void {
  if (problem !== undefined) throw badLockfile(where, `${field} ${JSON.stringify(value)} ${problem}`);
}

const format = (re: RegExp, what: string) => (text: string) => (re.test(text) ? undefined : `is not ${what}`);
const hex64 = format(/^[0-9a-f]{64}$/, '64 hex digits');
/** v6 packages carry no SIGMD5: rpm prints (none). */
const sigmd5Format = format(/^(?:[0-9a-f]{32}|\(none\))$/, '32 hex digits or (none)');
const archFormat = format(/^[A-Za-z0-9_]+$/, 'an arch name (letters, digits, _)');

function checkRpmEntry(rpm: LockedRpm, where: string): void {
  for (const field of ['name', 'version', 'release', 'arch'] as const) {
    refuse(where, field, rpm[field], badNameComponent(rpm[field]));
  }
  // rpm forbids - in version and release; with it, name-version-release would not split back.
  for (const field of ['version', 'release'] as const) {
    refuse(where, field, rpm[field], rpm[field].includes('-') ? 'holds a -' : undefined);
  }
  refuse(where, 'arch', rpm.arch, archFormat(rpm.arch));
  if (rpm.epoch !== null) refuse(where, 'epoch', rpm.epoch, format(/^\d{1,10}$/, 'a whole number')(rpm.epoch));
  const at = `${where} (${rpm.name})`;
  refuse(at, 'url', rpm.url, badHttpUrl(rpm.url));
  rpmFileName(rpm, at);
  refuse(at, 'sigmd5', rpm.sigmd5, sigmd5Format(rpm.sigmd5));
  if (rpm.signature !== null)
    refuse(at, 'signature', rpm.signature, format(/^[0-9a-f]{8}$/, '8 hex digits')(rpm.signature));
}

function checkBootstrap(boot: LockedBootstrap, source: string): void {
  const where = `${source}: bootstrap`;
  // Mock before 6.0 recorded podman's .Digest (sha256:...), later the bare hex layers digest.
  if (boot.image_digest !== undefined)
    refuse(where, 'image_digest', boot.image_digest, hex64(boot.image_digest.replace(/^sha256:/, '')));
  // A pull_digest names a directory in the offline repository: anything else could point outside it.
  if (boot.pull_digest !== undefined)
    refuse(
      where,
      'pull_digest',
      boot.pull_digest,
      format(/^sha256:[0-9a-f]{64}$/, 'sha256: and 64 hex digits')(boot.pull_digest),
    );
  if (boot.id !== undefined) refuse(where, 'id', boot.id, hex64(boot.id));
  if (boot.architecture !== undefined)
    refuse(where, 'architecture', boot.architecture, format(/^[a-z0-9_]+$/, 'an OCI architecture')(boot.architecture));
}

/**
 * The buildroot-defining keys, the only ones --isolated-build takes: each of
 * the type and form Mock writes. Macros reach the build user's .rpmmacros
 * (one line each: no newline; `%` is fine there), except the host path ones.
 */
function checkConfig(config: Record<string, JsonValue>, source: string): void {
  const where = `${source}: config`;
  const has = (key: string): boolean => Object.hasOwn(config, key);
  // None in Mock's config is null here, and no text at all.
  const text = (key: string, check: (v: string) => string | undefined): void => {
    if (!has(key) || config[key] === null) return;
    const v = config[key];
    refuse(where, key, v, typeof v === 'string' ? check(v) : 'is not a string');
  };
  text('target_arch', archFormat);
  text('dist', format(/^[A-Za-z0-9._+~]*$/, 'a dist tag (letters, digits, . _ + ~)'));
  text('package_manager', format(/^[a-z0-9]+$/, 'a package manager name'));
  // A reference: registry host, repository path, tag or digest; never a path that climbs.
  text('bootstrap_image', (v) =>
    /^[A-Za-z0-9._:/@[\]-]+$/.test(v) && !v.split('/').includes('..') ? undefined : 'is not an image reference',
  );
  if (has('bootstrap_image_ready') && typeof config['bootstrap_image_ready'] !== 'boolean')
    refuse(where, 'bootstrap_image_ready', config['bootstrap_image_ready'], 'is not true or false');
  if (has('legal_host_arches')) {
    const arches = config['legal_host_arches'];
    if (!Array.isArray(arches)) refuse(where, 'legal_host_arches', arches, 'is not a list');
    else
      for (const a of arches)
        refuse(where, 'legal_host_arches', a, typeof a === 'string' ? archFormat(a) : 'is not a string');
  }
  if (!has('macros')) return;
  const macros = config['macros'];
  if (typeof macros !== 'object' || macros === null || Array.isArray(macros))
    return refuse(where, 'macros', macros, 'is not an object');
  for (const [name, value] of Object.entries(macros)) {
    const field = `macros[${JSON.stringify(name)}]`;
    refuse(where, 'macro name', name, format(/^%[A-Za-z_][A-Za-z0-9_]*$/, 'a macro name (%name)')(name));
    if (typeof value === 'number' || typeof value === 'boolean') continue;
    if (typeof value !== 'string') refuse(where, field, value, 'is not a string or a number');
    else refuse(where, field, value, hostPathMacros.includes(name) ? badHostPath(value) : badLineText(value));
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
  if (!name.endsWith('.rpm') || badNameComponent(name) !== undefined || name.startsWith('.')) {
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
