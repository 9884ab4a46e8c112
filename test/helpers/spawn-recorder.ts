/**
 * Preloaded (NODE_OPTIONS=--import) into every node process of a test run:
 * appends one JSON line per child process started through node:child_process
 * to the file named by ISOMOCK_SPAWN_LOG. It records and never changes
 * anything: the same arguments reach the same functions. Without the variable
 * it does nothing. Async spawns (spawn, execFile, exec, fork) all pass through
 * ChildProcess.prototype.spawn; the sync ones each call an internal binding, so
 * those three are wrapped where they are exported.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as ChildProcessModule from 'node:child_process';

/** One recorded spawn: what check-spawned.ts analyses. */
export interface SpawnRecord {
  /** The executable as given (after Node applied `shell`), and its arguments without argv[0]. */
  file: string;
  args: string[];
  cwd: string;
  /** The PATH the executable was looked up in (the child's, else this process's). */
  path: string;
  /** Who spawned it: the innermost stack frames outside Node (dist/ file:line:column). */
  callers: string[];
  /** Whether the child inherits the recorder (its environment names the log), so its own spawns are recorded too. */
  inherits: boolean;
}

export const logVariable = 'ISOMOCK_SPAWN_LOG';

const log = process.env[logVariable];
const installed = Symbol.for('isomock.spawn-recorder');
const self = fileURLToPath(import.meta.url);

type Options = { cwd?: string | URL; env?: NodeJS.ProcessEnv; shell?: boolean | string } | undefined;

function callerFrames(): string[] {
  return (new Error().stack ?? '')
    .split('\n')
    .slice(1)
    .filter((l) => !l.includes(self) && !l.includes('node:') && l.includes('/'))
    .slice(0, 3)
    .map((l) => l.trim().replace(/^at (?:.* \()?(?:file:\/\/)?([^)]*)\)?$/, '$1'));
}

function record(
  file: string,
  args: readonly string[],
  cwd: string | URL | null | undefined,
  env: NodeJS.ProcessEnv,
): void {
  const entry: SpawnRecord = {
    file,
    args: [...args],
    cwd: cwd == null ? process.cwd() : cwd instanceof URL ? fileURLToPath(cwd) : String(cwd),
    path: env['PATH'] ?? '',
    callers: callerFrames(),
    inherits: env[logVariable] === log,
  };
  // One write(2) with O_APPEND per line: lines from concurrent processes never interleave.
  try {
    appendFileSync(log!, `${JSON.stringify(entry)}\n`);
  } catch {
    // The spawn goes on as it would without the recorder; check-spawned makes the log writable to every user.
  }
}

/** Node's own handling of `shell` for the sync calls (async spawns arrive already normalized). */
function recordSync(file: string, args: readonly string[], options: Options): void {
  const env = options?.env ?? process.env;
  if (options?.shell) {
    const shell = typeof options.shell === 'string' ? options.shell : '/bin/sh';
    record(shell, ['-c', [file, ...args].join(' ')], options.cwd, env);
  } else {
    record(file, args, options?.cwd, env);
  }
}

function install(): void {
  const cp = createRequire(import.meta.url)('node:child_process') as typeof ChildProcessModule;
  const proto = cp.ChildProcess.prototype as unknown as {
    spawn(options: { file: string; args: string[]; cwd?: string | null; envPairs?: string[] }): unknown;
  };
  const spawn = proto.spawn;
  proto.spawn = function (this: unknown, options) {
    const env = Object.fromEntries(
      (options.envPairs ?? []).map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]),
    );
    record(options.file, options.args.slice(1), options.cwd, env);
    return spawn.call(this, options);
  };
  // (file, args?, options?) for spawnSync and execFileSync; (command, options?) for execSync.
  const wrapSync = <F extends (...a: never[]) => unknown>(original: F, shellCommand: boolean): F =>
    function (this: unknown, ...call: unknown[]) {
      const [file, argsOrOptions, maybeOptions] = call as [string, unknown, unknown];
      if (shellCommand) recordSync(file, [], { shell: true, ...(argsOrOptions as Options) });
      else if (Array.isArray(argsOrOptions)) recordSync(file, argsOrOptions as string[], maybeOptions as Options);
      else recordSync(file, [], argsOrOptions as Options);
      return (original as unknown as (...a: unknown[]) => unknown).apply(this, call);
    } as unknown as F;
  cp.spawnSync = wrapSync(cp.spawnSync, false);
  cp.execFileSync = wrapSync(cp.execFileSync, false);
  cp.execSync = wrapSync(cp.execSync, true);
  // Makes `import { execFileSync } from 'node:child_process'` see the wrapped functions too.
  syncBuiltinESMExports();
}

const marks = globalThis as { [installed]?: boolean };
if (log && !marks[installed]) {
  marks[installed] = true;
  install();
}
