/** One benchmarked process: seconds from spawn to exit and its stdout; a non-zero exit is an error with its stderr. */
import { spawn } from 'node:child_process';

export interface Timed {
  seconds: number;
  stdout: string;
}

export function timedSpawn(argv: string[]): Promise<Timed> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve({ seconds: (performance.now() - start) / 1000, stdout })
        : reject(new Error(`${argv.join(' ')}: exit ${code}\n${stderr}`)),
    );
  });
}
