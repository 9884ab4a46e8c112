/** Runs ./bin/isomock as a packager would, capturing its exit code and output. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const isomockBin = join(repoRoot, 'bin', 'isomock');

export function isomock(args: string[], options: { signalAfterMs?: { signal: NodeJS.Signals; ms: number } } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(isomockBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = options.signalAfterMs
      ? setTimeout(() => child.kill(options.signalAfterMs!.signal), options.signalAfterMs.ms)
      : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : 128), stdout, stderr });
    });
  });
}
