/**
 * Child processes of a build: every one is logged, every one dies with
 * isomock, and every one ends when the build is aborted.
 *
 * - setpriv's parent-death signal kills the direct child when isomock dies,
 *   even by SIGKILL, which no handler can see (sandbox.ts keeps the chain
 *   going down to the PID namespace's init).
 * - An AbortSignal (the request's, or the one `withAbortSignal` set for the
 *   work it runs) ends the children gracefully: SIGTERM to the whole process
 *   tree below the child, then SIGKILL after a grace period; once aborted, no
 *   new child starts. The call then rejects with an `InterruptedError`.
 *   A non-interactive child leads its own process group, and the group is
 *   signalled first: the kernel delivers a group signal to a child being
 *   forked at that moment too, where a walk of the tree would miss it (the
 *   walk then reaches what left the group).
 * - A timeout (Mock's rpmbuild_timeout) ends the tree as Mock does: SIGTERM,
 *   SIGKILL one second later; the call rejects with exit code 11.
 * No signal handler is installed here: the CLI owns the process's signals.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { Writable } from 'node:stream';
import { ExitCode, IsomockError } from '../errors.js';

/** A log that keeps nothing, for queries whose output is only parsed. */
export const discard = new Writable({ write: (_chunk, _enc, done) => done() });

export interface RunOptions {
  env: Record<string, string>;
  cwd?: string;
  /** Where stdout and stderr go (a log file stream); the caller owns it. */
  log?: Writable;
  /** Also collect stdout into the result (for queries). */
  capture?: boolean;
  /** Lines of output are passed here as they arrive (progress, --verbose). */
  onLine?: (line: string) => void;
  /** The child shares isomock's stdin, stdout and stderr (a --shell session); nothing is logged. */
  interactive?: boolean;
  /** Ends the child (and its tree) when aborted; defaults to the one withAbortSignal set. */
  signal?: AbortSignal;
  /** Ends the child's tree after this many seconds; `command` names it in the error (and the log). */
  timeout?: { seconds: number; command: string };
}

export interface RunResult {
  code: number;
  stdout: string;
}

/** The work was aborted (the CLI: a signal); the reason says why. */
export class InterruptedError extends IsomockError {
  constructor(reason: unknown) {
    super(
      `interrupted${reason instanceof Error ? `: ${reason.message}` : typeof reason === 'string' ? ` by ${reason}` : ''}`,
    );
    this.name = 'InterruptedError';
  }
}

/** How long children get between SIGTERM and SIGKILL. */
const graceMs = 5000;

/** Mock's kill of a command past its timeout: SIGKILL one second after SIGTERM. */
const timeoutGraceMs = 1000;

/** A command ran past its timeout (Mock's commandTimeoutExpired, exit 11). */
class CommandTimeoutError extends IsomockError {
  constructor(seconds: number, command: string) {
    super(`Timeout(${seconds}) expired for command: ${command}`, ExitCode.commandTimeout);
    this.name = 'CommandTimeoutError';
  }
}

const ambient = new AsyncLocalStorage<AbortSignal>();

/** Runs fn so that every child it starts (through run) ends when signal aborts. */
export function withAbortSignal<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  return signal ? ambient.run(signal, fn) : fn();
}

/** Every process below pid, each before its own children, from /proc/PID/task/TID/children. */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  const walk = (p: number): void => {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return; // gone meanwhile
    }
    for (const tid of tasks) {
      let children: string;
      try {
        children = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.split(' ').filter(Boolean).map(Number)) {
        found.push(c);
        walk(c);
      }
    }
  };
  walk(pid);
  return found;
}

function signalTree(child: ChildProcess, sig: NodeJS.Signals, group: boolean): void {
  if (child.pid === undefined) return;
  // Until the pipes close, the group may outlive its leader (a child left in the background).
  if (group) {
    try {
      process.kill(-child.pid, sig);
    } catch {
      /* already gone */
    }
  }
  if (child.exitCode !== null || child.signalCode !== null) return;
  for (const pid of descendants(child.pid)) {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
  child.kill(sig);
}

/** Runs argv (argv[0] must be an absolute path) with parent-death protection. */
export function run(argv: string[], options: RunOptions): Promise<RunResult> {
  const signal = options.signal ?? ambient.getStore();
  if (signal?.aborted) return Promise.reject(new InterruptedError(signal.reason));
  // An interactive session stays in the terminal's foreground group, for its job control.
  const group = !options.interactive;
  const child = spawn('/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', ...argv], {
    env: options.env,
    cwd: options.cwd ?? '/',
    stdio: options.interactive ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    detached: group,
  });
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    // setpriv and unshare (which blocks SIGTERM) pass nothing on: the tree below gets it directly.
    signalTree(child, 'SIGTERM', group);
    killTimer = setTimeout(() => signalTree(child, 'SIGKILL', group), graceMs);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timeout = options.timeout;
  const deadline =
    timeout &&
    setTimeout(() => {
      timedOut = true;
      signalTree(child, 'SIGTERM', group);
      killTimer = setTimeout(() => signalTree(child, 'SIGKILL', group), timeoutGraceMs);
    }, timeout.seconds * 1000);
  const chunks: Buffer[] = [];
  let pending = '';
  const onData = (data: Buffer, isStdout: boolean): void => {
    options.log?.write(data);
    if (isStdout && options.capture) chunks.push(data);
    if (options.onLine) {
      pending += data.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) options.onLine(line);
    }
  };
  child.stdout?.on('data', (d: Buffer) => onData(d, true));
  child.stderr?.on('data', (d: Buffer) => onData(d, false));
  return new Promise((resolve, reject) => {
    const done = (): void => {
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      clearTimeout(deadline);
    };
    child.on('error', (err) => {
      done();
      reject(err);
    });
    child.on('close', (code, sig) => {
      done();
      if (pending && options.onLine) options.onLine(pending);
      if (signal?.aborted) reject(new InterruptedError(signal.reason));
      else if (timedOut) {
        const err = new CommandTimeoutError(timeout!.seconds, timeout!.command);
        options.log?.write(`${err.message}\n`);
        reject(err);
      } else resolve({ code: code ?? 128 + signalNumber(sig), stdout: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return (signal && constants.signals[signal]) ?? 1;
}
