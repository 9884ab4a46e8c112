/**
 * The host executables one spawned argument vector runs: the executable
 * itself (found through PATH as execvp finds it), its script's interpreter,
 * and, through the wrappers the project uses (setpriv, unshare, flock, env,
 * script, timeout, nice, prlimit, a shell's -c script), the commands they
 * start in turn. A command that runs inside a new root (after chroot, or
 * unshare --root, or bwrap) comes from that root, not from the host, and is
 * not followed. Reads the file system (PATH lookup, shebang lines); spawns
 * nothing.
 */
import { accessSync, constants, openSync, readSync, closeSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { shellCommands } from './shell-commands.js';

/** One host executable a spawn runs, and the chain of wrappers that led to it (outermost first). */
export interface HostExecutable {
  path: string;
  via: string[];
  /** The name it was looked up by on PATH (absent when spawned by path). */
  name?: string;
}

/** A command that could not be followed: a word only the running program knows, or (missing) a name not on PATH. */
export interface Unfollowed {
  name: string | undefined;
  via: string[];
  reason: string;
  missing?: boolean;
}

export interface Followed {
  found: HostExecutable[];
  unfollowed: Unfollowed[];
}

interface Wrapper {
  /** Options that take a value (the next argument, unless given as --opt=value or -oVALUE). */
  values: string[];
  /** Options whose value is a command line for the shell. */
  shell?: string[];
  /** Operands before the command: chroot's NEWROOT, flock's lock file, timeout's duration. */
  operands: number;
  /** The command comes after the operands; false for script(1), which only takes -c. */
  command: boolean;
  /** Options that make the command resolve inside a new root (always, when empty and newRoot is set). */
  newRoot?: string[];
}

const wrappers: Record<string, Wrapper> = {
  setpriv: {
    values: ['--pdeathsig', '--reuid', '--regid', '--ruid', '--rgid', '--euid', '--egid', '--groups', '--inh-caps'],
    operands: 0,
    command: true,
  },
  unshare: {
    values: ['--propagation', '--setgroups', '--map-user', '--map-group', '-S', '--setuid', '-G', '--setgid', '-w'],
    operands: 0,
    command: true,
    newRoot: ['-R', '--root'],
  },
  chroot: { values: ['--userspec', '--groups'], operands: 1, command: true, newRoot: [] },
  bwrap: { values: [], operands: 0, command: false, newRoot: [] },
  flock: {
    values: ['-w', '--timeout', '-E', '--conflict-exit-code'],
    shell: ['-c', '--command'],
    operands: 1,
    command: true,
  },
  env: { values: ['-u', '--unset', '-C', '--chdir'], operands: 0, command: true },
  nice: { values: ['-n', '--adjustment'], operands: 0, command: true },
  timeout: { values: ['-s', '--signal', '-k', '--kill-after'], operands: 1, command: true },
  prlimit: { values: ['-p', '--pid'], operands: 0, command: true },
  script: {
    values: ['-E', '--echo', '-I', '-O', '-B', '-T', '-m'],
    shell: ['-c', '--command'],
    operands: 0,
    command: false,
  },
  // POSIX shells: -c makes the first operand the script; -o takes an option name.
  sh: { values: ['-o', '+o', '--rcfile', '--init-file'], operands: 0, command: false },
};
wrappers['dash'] = wrappers['bash'] = wrappers['sh'];

interface Parsed {
  options: Map<string, string | undefined>;
  operands: Array<string | undefined>;
}

/** Splits a wrapper's arguments into options (with values) and operands, stopping at the command. */
function parseWrapper(w: Wrapper, args: Array<string | undefined>): Parsed {
  const options = new Map<string, string | undefined>();
  const takesValue = (o: string): boolean =>
    w.values.includes(o) || (w.shell ?? []).includes(o) || w.newRoot?.includes(o) === true;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      i++;
      break;
    }
    if (a === undefined || !/^[-+]./.test(a)) break;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) options.set(a.slice(0, eq), a.slice(eq + 1));
      else options.set(a, takesValue(a) ? args[++i] : undefined);
      continue;
    }
    // A cluster of short options (-qec); one that takes a value ends it.
    for (let k = 1; k < a.length; k++) {
      const o = `${a[0]}${a[k]}`;
      if (!takesValue(o)) {
        options.set(o, undefined);
        continue;
      }
      options.set(o, k + 1 < a.length ? a.slice(k + 1) : args[++i]);
      break;
    }
  }
  return { options, operands: args.slice(i) };
}

/** What sh (dash) and execvp search when PATH is unset or empty. */
const defaultShellPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Where execvp finds name: a path with a slash is taken as is (from cwd), else the first executable file on PATH. */
export function findExecutable(name: string, path: string, cwd: string): string | undefined {
  const dirs = (path || defaultShellPath).split(':');
  const candidates = name.includes('/') ? [resolve(cwd, name)] : dirs.map((d) => resolve(cwd, d, name));
  return candidates.find((c) => {
    try {
      accessSync(c, constants.X_OK);
      return statSync(c).isFile();
    } catch {
      return false;
    }
  });
}

/** A script's `#!` line as argv (interpreter and its one optional argument), or undefined. */
function shebang(file: string): string[] | undefined {
  const buf = Buffer.alloc(256);
  let n = 0;
  try {
    const fd = openSync(file, 'r');
    try {
      n = readSync(fd, buf, 0, buf.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const head = buf.subarray(0, n).toString('latin1');
  if (!head.startsWith('#!')) return undefined;
  const line = head.slice(2).split('\n')[0]!.trim();
  const space = line.search(/[ \t]/);
  return space < 0 ? [line] : [line.slice(0, space), line.slice(space).trim()];
}

interface Where {
  path: string;
  cwd: string;
}

/** Every host executable argv runs, given the PATH it is looked up in and its working directory. */
export function hostExecutables(argv: Array<string | undefined>, where: Where): Followed {
  const result: Followed = { found: [], unfollowed: [] };
  follow(argv, where, [], result);
  return result;
}

function follow(argv: Array<string | undefined>, where: Where, via: string[], out: Followed): void {
  const name = argv[0];
  if (via.length > 12) return void out.unfollowed.push({ name, via, reason: 'wrapped too deep' });
  if (name === undefined) return void out.unfollowed.push({ name, via, reason: 'its name is only known at run time' });
  const file = findExecutable(name, where.path, where.cwd);
  if (!file) return void out.unfollowed.push({ name, via, reason: `not found on PATH=${where.path}`, missing: true });
  out.found.push(name.includes('/') ? { path: file, via } : { path: file, via, name });
  const interpreter = shebang(file);
  if (interpreter) return follow([...interpreter, file, ...argv.slice(1)], where, [...via, basename(file)], out);
  const kind = basename(file);
  const w = wrappers[kind];
  if (!w) return;
  const isShell = w === wrappers['sh'];
  const { options, operands } = parseWrapper(w, argv.slice(1));
  const inner = [...via, kind];
  if (w.newRoot && (w.newRoot.length === 0 || w.newRoot.some((o) => options.has(o)))) return;
  let path = where.path;
  if (kind === 'env') {
    // env -i runs the command with an empty environment: execvp then searches its default path.
    if (options.has('-i') || options.has('--ignore-environment')) path = '/bin:/usr/bin';
    while (operands[0]?.includes('=')) {
      const assignment = operands.shift()!;
      if (assignment.startsWith('PATH=')) path = assignment.slice(5);
    }
  }
  const command = operands.slice(w.operands);
  // flock takes -c after its lock file: `flock FILE -c CMD`.
  if (w.shell?.includes(command[0] ?? '')) options.set(command.shift()!, command.shift());
  const shellOption = isShell ? (options.has('-c') ? '-c' : undefined) : w.shell?.find((o) => options.has(o));
  if (shellOption) {
    const script = isShell ? command.shift() : options.get(shellOption);
    if (script === undefined)
      return void out.unfollowed.push({ name: undefined, via: inner, reason: 'its script is only known at run time' });
    const positional = isShell ? command : [kind];
    try {
      for (const c of shellCommands(script, positional)) follow(c.argv, { ...where, path: c.path ?? path }, inner, out);
    } catch (err) {
      out.unfollowed.push({ name: script, via: inner, reason: `unreadable script: ${(err as Error).message}` });
    }
    return;
  }
  if (w.command && command.length) follow(command, { ...where, path }, inner, out);
}
