/**
 * Runs the host tools the world generator wraps (dpkg-query, rpmbuild, gpg,
 * createrepo_c). A failing tool is a broken host or generator, so exec()'s
 * error names the command and carries the tail of its output.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { IsomockError } from '../../src/errors.js';

export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ExecResult {
  /** The exit code, or 128+signal for a signalled process (as a shell reports it). */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv to completion and reports how it ended, whatever that was. */
export function execStatus(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', (e) => reject(new IsomockError(`cannot run ${argv[0]}: ${e.message}`)));
    child.once('close', (code, signal) => {
      resolve({
        code: code ?? 128 + (signal ? constants.signals[signal] : 0),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

/** Runs argv and returns its stdout; a non-zero exit is an error. */
export async function exec(argv: string[], options: ExecOptions = {}): Promise<string> {
  const result = await execStatus(argv, options);
  if (result.code === 0) return result.stdout;
  const tail = `${result.stderr}${result.stdout}`.trim().split('\n').slice(-15).join('\n');
  throw new IsomockError(`world: '${argv.slice(0, 3).join(' ')}' exited with ${result.code}:\n${tail}`);
}

/** Runs the thunks with at most `limit` in flight (the machines have 2 cores). */
export async function inParallel<T>(limit: number, thunks: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array(thunks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < thunks.length) {
      const i = next++;
      results[i] = await thunks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, thunks.length) }, worker));
  return results;
}
