/**
 * Every executable the product and the tests spawn comes from a Debian package
 * that a fresh Debian 12 has after scripts/setup (issue 9). npm test runs
 *
 *   node dist/test/check-spawned.js node --test ... dist/test/
 *
 * which runs the command with test/helpers/spawn-recorder.ts preloaded into
 * every node process (NODE_OPTIONS is inherited), then follows each recorded
 * spawn (and each literal spawn in the source) to its host executables, maps
 * them to packages, and fails naming each executable, who spawned it, and the
 * package to add to scripts/system-packages.txt. The command's own failure
 * wins; a log with no spawn in it fails (the recorder was not loaded).
 *
 *   node dist/test/check-spawned.js [--verbose] [--no-static] [--packages FILE] [--keep-log NEWFILE] COMMAND...
 *   node dist/test/check-spawned.js [--verbose] [--no-static] [--packages FILE] --log FILE
 *
 * --no-static leaves out the scan of the source (it loads the TypeScript compiler: seconds).
 *
 * Run with no arguments (node --test runs every file under dist/test) it does nothing.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { constants, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { basePackages, declaredPackages, packageOwners } from './helpers/debian-packages.js';
import { findExecutable, hostExecutables } from './helpers/host-commands.js';
import { repoRoot } from './helpers/paths.js';
import { logVariable, type SpawnRecord } from './helpers/spawn-recorder.js';
import { staticSpawns } from './helpers/static-spawns.js';

const recorder = fileURLToPath(new URL('./helpers/spawn-recorder.js', import.meta.url));
const tag = 'check-spawned';

/** dist/x.js:L:C as the TypeScript source line it was compiled from (through the build's source maps). */
const maps = new Map<string, SourceMap | undefined>();
function sourceLocation(frame: string): string {
  const m = /^(.*):(\d+):(\d+)$/.exec(frame);
  if (!m) return frame;
  const [, file, line, column] = m as unknown as [string, string, string, string];
  if (!maps.has(file)) {
    try {
      maps.set(file, new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))));
    } catch {
      maps.set(file, undefined);
    }
  }
  const entry = maps.get(file)?.findEntry(Number(line) - 1, Number(column) - 1);
  if (entry && 'originalSource' in entry) {
    return `${relative(repoRoot, resolve(dirname(file), entry.originalSource))}:${entry.originalLine + 1}`;
  }
  return relative(repoRoot, file) + `:${line}`;
}

interface Use {
  /** Who spawned it: a source location, and the wrappers in between. */
  by: string;
  via: string[];
}

/** Directories whose files must come from a package (a hand-installed tool there hides a missing one from CI). */
const systemDirs = /^\/(usr|bin|sbin|lib[^/]*|etc|opt)\//;
/** root's PATH on a fresh Debian 12 (ENV_SUPATH in /etc/login.defs): what the source's bare names find there. */
const freshPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const inside = (path: string, dir: string): boolean => !relative(dir, path).startsWith('..');

/** The failures (one line each; none when all is well), a summary, and with verbose every executable's package. */
export interface Verdict {
  failures: string[];
  summary: string;
  details: string[];
}

export function checkSpawned(records: SpawnRecord[], packagesFile: string, scanRoot?: string): Verdict {
  if (records.length === 0) {
    return {
      failures: [`${tag}: no spawn was recorded: the recorder (${recorder}) did not run`],
      summary: '',
      details: [],
    };
  }
  const runtime = realpathSync(process.execPath);
  const uses = new Map<string, Use[]>();
  const failures: string[] = [];
  const details: string[] = [];
  const describe = (use: Use): string => `spawned by ${use.by}${use.via.length ? ` via ${use.via.join(' > ')}` : ''}`;
  const use = (path: string, u: Use): void => void uses.set(path, [...(uses.get(path) ?? []), u]);
  const add = (argv: Array<string | undefined>, where: { path: string; cwd: string }, by: string): void => {
    const r = hostExecutables(argv, where);
    for (const u of r.unfollowed) {
      // A program of the tests' own (an installed copy in a scratch dir) that is gone by now.
      if (u.missing && u.name?.startsWith('/') && (inside(u.name, tmpdir()) || inside(u.name, repoRoot))) continue;
      const line = `${u.name ?? '?'} (${u.reason}; ${describe({ by, via: u.via })})`;
      if (u.missing) failures.push(`${tag}: ${line}: no package of scripts/setup brings it`);
      else details.push(`not followed: ${line}`);
    }
    for (const f of r.found) {
      use(f.path, { by, via: f.via });
      const local = !systemDirs.test(f.path) && !inside(f.path, repoRoot) && !inside(f.path, tmpdir());
      if (!f.name || !local || realpathSync(f.path) === runtime) continue;
      // This machine's own PATH entry (a pyenv shim, say) shadows what a fresh Debian 12 runs by that name.
      const fresh = findExecutable(f.name, freshPath, '/');
      if (fresh) use(fresh, { by, via: [...f.via, `not ${f.path}`] });
      else
        failures.push(
          `${tag}: ${f.name} is found only at ${f.path}, on no Debian 12 PATH (${describe({ by, via: f.via })})`,
        );
    }
  };
  for (const r of records) add([r.file, ...r.args], r, r.callers.map(sourceLocation).join(' < '));
  const statics = scanRoot ? staticSpawns(scanRoot) : [];
  for (const s of statics) add(s.argv, { path: freshPath, cwd: repoRoot }, s.caller);

  const owners = packageOwners([...uses.keys(), runtime]);
  // The Node.js installation that runs the suite (node, npm, npx), installed before setup: by its package, or,
  // outside any package, by its own tree (npm is a link into PREFIX/lib/node_modules).
  const runtimePackages = owners.get(runtime) ?? [];
  const runtimeTree = join(dirname(dirname(runtime)), 'lib', 'node_modules');
  const isRuntime = (path: string, real: string): boolean =>
    real === runtime ||
    inside(real, runtimeTree) ||
    (runtimePackages.length > 0 &&
      (owners.get(path) ?? []).every((p) => runtimePackages.includes(p)) &&
      owners.has(path));
  const base = basePackages([...owners.values()].flat());
  const declared = declaredPackages(packagesFile);
  const listName = relative(repoRoot, packagesFile) || packagesFile;
  const packages = new Set<string>();
  for (const [path, used] of [...uses].sort(([a], [b]) => a.localeCompare(b))) {
    const by = describe(used[0]!) + (used.length > 1 ? `, and ${used.length - 1} more` : '');
    const owner = owners.get(path);
    const real = existsSync(path) ? realpathSync(path) : path;
    details.push(`${path}: ${owner?.join(', ') ?? 'no package'} (${by})`);
    if (isRuntime(path, real)) {
      // The Node.js that runs all this, installed before setup (Debian 12 has no Node 20).
    } else if (!owner) {
      if (systemDirs.test(real)) failures.push(`${tag}: ${path} belongs to no Debian package (${by})`);
    } else if (owner.some((p) => declared.has(p) || base.has(p))) {
      owner.forEach((p) => packages.add(p));
    } else {
      failures.push(
        `${tag}: ${path} is in Debian package ${owner.join(', ')}, neither in ${listName} nor Essential: add ${owner[0]} (${by})`,
      );
    }
  }
  const unfollowed = details.filter((d) => d.startsWith('not followed')).length;
  const unrecorded = records.filter((r) => !r.inherits && /(^|\/)node$/.test(r.file)).length;
  const summary =
    `${tag}: ${records.length} spawns and ${statics.length} literal spawns in the source run ${uses.size} host ` +
    `executables from ${packages.size} declared or Essential packages; not followed: ${unfollowed} commands ` +
    `only known at run time, ${unrecorded} node children without the recorder`;
  return { failures, summary, details };
}

function readLog(file: string): SpawnRecord[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l) as SpawnRecord);
}

function runRecorded(command: string[], log: string): Promise<number> {
  const preload = `--import=${pathToFileURL(recorder).href}`;
  const child = spawn(command[0]!, command.slice(1), {
    stdio: 'inherit',
    env: {
      ...process.env,
      NODE_OPTIONS: [process.env['NODE_OPTIONS'], preload].filter(Boolean).join(' '),
      [logVariable]: log,
    },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  return new Promise((resolveCode) => {
    child.on('error', (err) => {
      console.error(`${tag}: cannot run ${command[0]}: ${err.message}`);
      resolveCode(127);
    });
    child.on('close', (code, signal) => resolveCode(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

async function main(args: string[]): Promise<number> {
  let packagesFile = join(repoRoot, 'scripts', 'system-packages.txt');
  let log: string | undefined;
  let keep: string | undefined;
  const flags = new Set<string>();
  while (args[0]?.startsWith('--')) {
    const option = args.shift()!;
    if (option === '--verbose' || option === '--no-static') {
      flags.add(option);
      continue;
    }
    const value = args.shift();
    if (value === undefined) throw new Error(`${option} needs a value`);
    if (option === '--packages') packagesFile = resolve(value);
    else if (option === '--log') log = resolve(value);
    else if (option === '--keep-log') keep = resolve(value);
    else throw new Error(`unknown option ${option}`);
  }
  let code = 0;
  let scratch: string | undefined;
  try {
    if (!log) {
      if (args.length === 0) throw new Error('give a command to run, or --log FILE');
      scratch = mkdtempSync(join(tmpdir(), 'isomock-spawns-'));
      log = keep ?? join(scratch, 'spawns.jsonl');
      // Tests run some node processes as other users (setpriv --reuid): they append too.
      chmodSync(scratch, 0o711);
      writeFileSync(log, '', { flag: 'wx' });
      chmodSync(log, 0o622);
      code = await runRecorded(args, log);
    }
    const records = existsSync(log) ? readLog(log) : [];
    const verdict = checkSpawned(records, packagesFile, flags.has('--no-static') ? undefined : repoRoot);
    if (flags.has('--verbose')) for (const line of verdict.details) console.error(`${tag}: ${line}`);
    for (const line of verdict.failures.length ? verdict.failures : [verdict.summary]) console.error(line);
    return code || (verdict.failures.length ? 1 : 0);
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv.length > 2) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (err) {
    console.error(`${tag}: ${(err as Error).message}`);
    process.exitCode = 2;
  }
}
