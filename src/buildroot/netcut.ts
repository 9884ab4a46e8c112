/**
 * The offline step runs entirely inside a network namespace of its own
 * (only `lo`, up), made by isomock itself: Mock leaves this to the caller.
 * The parent listens on the host's loopback; the re-executed child must fail
 * to reach it, which proves the cut before anything else runs.
 */
import { createServer, connect, type Server } from 'node:net';
import { spawn } from 'node:child_process';
import { ExitCode, IsomockError } from '../errors.js';

const envKey = 'ISOMOCK_NETWORK_CUT_PROBE_PORT';

/** The probe port when this process runs inside the cut, else undefined. */
export function insideCut(): number | undefined {
  const v = process.env[envKey];
  return v ? Number(v) : undefined;
}

function listen(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((s) => s.end('isomock network probe\n'));
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/**
 * Re-runs this very command line in a new network namespace and returns its
 * exit code. `ip link set lo up` first, so builds can still use localhost.
 */
export async function reexecInNetworkNamespace(argv: string[]): Promise<number> {
  const probe = await listen();
  const port = (probe.address() as { port: number }).port;
  try {
    const script = 'ip link set lo up && exec "$@"';
    const child = spawn(
      '/usr/bin/setpriv',
      [
        '--pdeathsig',
        'KILL',
        '--',
        '/usr/bin/unshare',
        '--net',
        '--',
        '/bin/sh',
        '-c',
        script,
        'sh',
        process.execPath,
        ...process.execArgv,
        ...argv,
      ],
      {
        stdio: 'inherit',
        env: {
          ...process.env,
          [envKey]: String(port),
          PATH: `/usr/sbin:/usr/bin:/sbin:/bin:${process.env['PATH'] ?? ''}`,
        },
      },
    );
    const forward = (sig: NodeJS.Signals): void => void child.kill(sig);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    return await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 143)));
    });
  } finally {
    probe.close();
  }
}

/** Inside the cut: the host's loopback listener must be unreachable. Returns what to log. */
export async function proveCut(port: number): Promise<string> {
  const reached = await new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
  if (reached) {
    throw new IsomockError(
      `network cut failed: the host's 127.0.0.1:${port} is reachable from the isolated build`,
      ExitCode.chroot,
    );
  }
  return `network cut verified: the host's listener on 127.0.0.1:${port} is unreachable from this step (own network namespace, only lo)`;
}
