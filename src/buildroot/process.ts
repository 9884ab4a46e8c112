/**
 * Child processes of a build: every one is logged, every one dies with
 * isomock. setpriv's parent-death signal covers SIGKILL of isomock, which no
 * handler in Node can see; SIGINT/SIGTERM are forwarded so children can end
 * cleanly first.
 */
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';

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
}

export interface RunResult {
  code: number;
  stdout: string;
}

const live = new Set<import('node:child_process').ChildProcess>();
let handlersInstalled = false;
/** Interactive children running: a terminal's Ctrl-C is theirs to handle (it reaches them too), not isomock's. */
let interactiveChildren = 0;

function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (signal === 'SIGINT' && interactiveChildren > 0) return;
      for (const child of live) child.kill('SIGKILL');
      // The conventional 128+n, as a shell reports a signalled process.
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** Runs argv (argv[0] must be an absolute path) with parent-death protection. */
export function run(argv: string[], options: RunOptions): Promise<RunResult> {
  installSignalHandlers();
  const child = spawn('/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', ...argv], {
    env: options.env,
    cwd: options.cwd ?? '/',
    stdio: options.interactive ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  if (options.interactive) {
    interactiveChildren++;
    child.on('close', () => interactiveChildren--);
  }
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
    child.on('error', (err) => {
      live.delete(child);
      reject(err);
    });
    child.on('close', (code, signal) => {
      live.delete(child);
      if (pending && options.onLine) options.onLine(pending);
      resolve({ code: code ?? 128 + signalNumber(signal), stdout: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return (signal && numbers[signal]) ?? 1;
}
