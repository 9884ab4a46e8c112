/**
 * File access with another user's rights, as Mock's uid manager gives it
 * (mockbuild/uid.py): when isomock runs as root for a member of group mock,
 * what that member names is read, listed or created by a helper child
 * spawned with the member's uid and gid (libuv also drops the supplementary
 * groups), so the kernel decides what the member may reach. The bytes come
 * back through a pipe or straight into a descriptor root opened. Nothing
 * here changes the isomock process's own credentials: no window in which
 * other threads would act as someone else.
 *
 * Every failure is one IsomockError naming the path, the user and the
 * helper's own reason (e.g. "Permission denied").
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { ExitCode, IsomockError, type ExitCodeValue } from '../errors.js';

/** Who a helper runs as: the invoking user's uid, and group mock's gid (Mock's unprivUid, unprivGid). */
export interface UserIds {
  uid: number;
  gid: number;
}

/** The kind of a directory entry, as find's %y prints it: f, d, l, and others. */
export interface UserEntry {
  /** The path below the directory listed ('' for the directory itself). */
  path: string;
  type: string;
  /** Permission bits (find's %m). */
  mode: number;
  /** A link's target (find's %l), else ''. */
  target: string;
}

const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };

function helper(
  user: UserIds,
  argv: string[],
  stdout: 'pipe' | number = 'pipe',
): SpawnSyncReturns<Buffer> & { reason: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    uid: user.uid,
    gid: user.gid,
    env,
    stdio: ['ignore', stdout, 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
  const firstLine = (r.stderr ?? Buffer.alloc(0)).toString().trim().split('\n')[0] ?? '';
  // The tool's own reason, without its "tool: path: " prefix.
  const reason = r.error ? r.error.message : firstLine.replace(/^.*: /, '') || `${argv[0]} exited ${r.status}`;
  return Object.assign(r, { reason });
}

function failure(what: string, path: string, user: UserIds, reason: string, code: ExitCodeValue): IsomockError {
  return new IsomockError(`cannot ${what} ${path} as uid ${user.uid} (the invoking user): ${reason}`, code);
}

/** A file's bytes, read as `user` (links followed with the user's rights). */
function readFileAs(user: UserIds, path: string, code: ExitCodeValue = ExitCode.error): Buffer {
  const r = helper(user, ['cat', '--', path]);
  if (r.status !== 0) throw failure('read', path, user, r.reason, code);
  return r.stdout;
}

/** A reader of text files as `user` (loadConfig's readFile: config files and their includes). */
export function textReaderAs(user: UserIds, code: ExitCodeValue): (path: string) => string {
  return (path) => readFileAs(user, path, code).toString('utf8');
}

/** Copies a file's bytes, read as `user`, into fd (which root opened). */
export function copyFileAs(user: UserIds, path: string, fd: number, code: ExitCodeValue = ExitCode.error): void {
  const r = helper(user, ['cat', '--', path], fd);
  if (r.status !== 0) throw failure('read', path, user, r.reason, code);
}

/**
 * What `user` sees at path: the entry itself and, for a directory, what is
 * under it (`depth` levels; Infinity for the whole tree); links are followed
 * (with the user's rights) only when `follow`. A directory `user` may not list
 * fails.
 */
export function listAs(
  user: UserIds,
  path: string,
  depth: number,
  follow = false,
  code: ExitCodeValue = ExitCode.error,
): UserEntry[] {
  const r = helper(user, [
    'find',
    follow ? '-L' : '-P',
    path,
    ...(Number.isFinite(depth) ? ['-maxdepth', String(depth)] : []),
    '-printf',
    '%P\\0%y\\0%m\\0%l\\0',
  ]);
  if (r.status !== 0) throw failure('list', path, user, r.reason, code);
  const fields = r.stdout.toString().split('\0');
  const entries: UserEntry[] = [];
  for (let i = 0; i + 3 < fields.length; i += 4) {
    entries.push({ path: fields[i]!, type: fields[i + 1]!, mode: parseInt(fields[i + 2]!, 8), target: fields[i + 3]! });
  }
  return entries;
}

/** mkdir -p as `user`, then the directory must be one `user` may write into. */
export function makeWritableDirAs(user: UserIds, dir: string, code: ExitCodeValue): void {
  const r = helper(user, [
    'sh',
    '-c',
    'mkdir -p -- "$1" && test -w "$1" || { echo "$1: not writable" >&2; exit 1; }',
    'sh',
    dir,
  ]);
  if (r.status !== 0) throw failure('use', dir, user, r.reason, code);
}
