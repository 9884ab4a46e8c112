/** Runs ./bin/isomock as a packager would, capturing its exit code and output. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The isomock under test: this checkout's, or ISOMOCK_BIN (e.g. an older build,
 * to show that a regression test fails there).
 */
export const isomockBin = process.env['ISOMOCK_BIN'] ?? join(repoRoot, 'bin', 'isomock');

export function isomock(
  args: string[],
  options: {
    /** Sends signal once stderr matches (a progress line): mid-step, however fast the machine. */
    signalOn?: { signal: NodeJS.Signals; stderr: RegExp };
    /** Fed to stdin, a pipe (empty when not given). */
    input?: string;
    /** Extra environment variables (what a caller could set). */
    env?: Record<string, string>;
    /** A command isomock runs under (prlimit, unshare, strace), as argv words before the binary. */
    wrapper?: string[];
    /** SIGKILLed after this long (code 137): a test bounds what an old build would never end. */
    killAfterMs?: number;
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const argv = [...(options.wrapper ?? []), isomockBin, ...args];
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    const killer = options.killAfterMs ? setTimeout(() => child.kill('SIGKILL'), options.killAfterMs) : undefined;
    // A child that exits without reading its input (EPIPE) is not the test's failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    let signalled = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (options.signalOn && !signalled && options.signalOn.stderr.test(stderr)) {
        signalled = true;
        child.kill(options.signalOn.signal);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : 128), stdout, stderr });
    });
  });
}

let storeParent: string | undefined;

/**
 * The environment of an isolated-repo run with a content store of its own,
 * empty: a store filled by an earlier run serves the RPMs a test means to
 * download (a redirect, a proxy, a bad signature). Removed when the test process exits.
 */
export function emptyStore(): Record<string, string> {
  if (!storeParent) {
    const parent = mkdtempSync(join(tmpdir(), 'iso-test-stores-'));
    process.on('exit', () => rmSync(parent, { recursive: true, force: true }));
    storeParent = parent;
  }
  return { ISOMOCK_STORE: mkdtempSync(join(storeParent, 'store-')) };
}
