/**
 * The offline step runs entirely inside a network namespace of its own (only
 * `lo`, up), made by the library itself: Mock leaves this to the caller.
 *
 * `runInNetworkCut` spawns a child process (node, `entry`) through
 * `unshare --net`, and talks to it over a pipe it created itself (fd 3): it
 * sends the work's input with its own namespace's identity, its PID and the
 * port of a listener on its loopback; the child (`serveInNetworkCut`) proves
 * the cut from facts the caller cannot forge before it does anything else -
 * its own netns differs from the one the parent named and from
 * /proc/PPID/ns/net, its PPID is that parent, it has no interface but `lo`,
 * and the parent's listener is unreachable - and refuses otherwise. No
 * environment variable or option skips any of it. Abort reaches the child as
 * a message on the pipe (or the pipe's end, if the parent dies), so its
 * cleanups run; setpriv's parent-death signal covers a SIGKILL.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { connect, createServer, Socket, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ExitCode, IsomockError, type ExitCodeValue } from '../errors.js';
import { errorLine } from '../util/error-line.js';

/** What the parent sends first. */
interface Hello {
  netns: string;
  pid: number;
  port: number;
  input: unknown;
}

type ToChild = Hello | { abort: string };
type FromChild = { result: unknown } | { error: { message: string; exitCode: ExitCodeValue } };

function listen(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((s) => s.end('isomock network probe\n'));
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/**
 * Runs entry's `serveInNetworkCut` work on input in a new network namespace
 * and returns its result (JSON); its failure is rethrown as an IsomockError
 * with the same message and exit code.
 */
export async function runInNetworkCut<T>(entry: URL, input: unknown, signal?: AbortSignal): Promise<T> {
  const probe = await listen();
  try {
    const hello: Hello = {
      netns: readlinkSync('/proc/self/ns/net'),
      pid: process.pid,
      port: (probe.address() as { port: number }).port,
      input,
    };
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
        'ip link set lo up && exec "$@"',
        'sh',
        process.execPath,
        fileURLToPath(entry),
      ],
      {
        stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
        env: { ...process.env, PATH: `/usr/sbin:/usr/bin:/sbin:/bin:${process.env['PATH'] ?? ''}` },
      },
    );
    const channel = child.stdio[3] as Socket;
    const send = (m: ToChild): void => void channel.write(`${JSON.stringify(m)}\n`);
    send(hello);
    const onAbort = (): void => send({ abort: reasonText(signal!.reason) });
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    let answer: FromChild | undefined;
    createInterface({ input: channel }).on('line', (line) => (answer = JSON.parse(line) as FromChild));
    const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, s) => resolve([c, s]));
    });
    signal?.removeEventListener('abort', onAbort);
    if (answer && 'result' in answer) return answer.result as T;
    if (answer) throw new IsomockError(answer.error.message, answer.error.exitCode);
    throw new IsomockError(
      `the isolated build's process in its network namespace ended without a result (${sig ?? `exit ${code}`})`,
      ExitCode.chroot,
    );
  } finally {
    probe.close();
  }
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
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
}

/** Interface names of this process's network namespace (/proc/self/net is per namespace; /sys is not). */
export function interfaces(procNetDev: string): string[] {
  return procNetDev
    .split('\n')
    .slice(2)
    .map((l) => l.split(':')[0]!.trim())
    .filter(Boolean);
}

/** The cut's checks, from what this process sees; throws unless every one holds. Returns the line to log. */
async function proveCut(hello: Hello): Promise<string> {
  const fail = (why: string): never => {
    throw new IsomockError(`network cut not proven: ${why}; refusing to run the isolated build`, ExitCode.chroot);
  };
  const own = readlinkSync('/proc/self/ns/net');
  if (process.ppid !== hello.pid) fail(`this process's parent is ${process.ppid}, not the isomock ${hello.pid}`);
  let parents: string;
  try {
    parents = readlinkSync(`/proc/${hello.pid}/ns/net`);
  } catch {
    return fail(`cannot read the network namespace of the parent ${hello.pid}`);
  }
  if (parents !== hello.netns) fail(`the parent's network namespace is ${parents}, not the ${hello.netns} it named`);
  if (own === hello.netns) fail(`this step runs in the parent's network namespace ${own}`);
  const names = interfaces(readFileSync('/proc/self/net/dev', 'utf8'));
  if (names.join() !== 'lo') fail(`interfaces other than lo: ${names.join(', ')}`);
  if (await reachable(hello.port)) fail(`the parent's listener on 127.0.0.1:${hello.port} is reachable`);
  return (
    `network cut verified: own network namespace ${own} (isomock's is ${hello.netns}), only lo, ` +
    `and isomock's listener on 127.0.0.1:${hello.port} is unreachable`
  );
}

/**
 * The child's side, for an entry module: reads the input from fd 3, proves
 * the cut, runs work with an AbortSignal the parent controls, and sends the
 * result or the error back. Signals are the parent's to handle: the child
 * ignores SIGINT, SIGTERM and SIGHUP (a terminal's Ctrl-C reaches both) and
 * ends on the parent's word.
 */
export async function serveInNetworkCut(
  work: (input: unknown, proof: string, signal: AbortSignal) => Promise<unknown>,
): Promise<void> {
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => undefined);
  const channel = new Socket({ fd: 3, readable: true, writable: true });
  const controller = new AbortController();
  const lines = createInterface({ input: channel });
  const hello = await new Promise<Hello | undefined>((resolve) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as Hello));
    lines.once('close', () => resolve(undefined));
  });
  lines.on('line', (line) => {
    const m = JSON.parse(line) as ToChild;
    if ('abort' in m) controller.abort(m.abort);
  });
  // The parent gone: end as if aborted (setpriv's parent-death signal may already be on its way).
  lines.once('close', () => controller.abort('the end of isomock'));
  let answer: FromChild;
  try {
    if (!hello) throw new IsomockError('no input from the parent', ExitCode.chroot);
    answer = { result: await work(hello.input, await proveCut(hello), controller.signal) };
  } catch (err) {
    answer = { error: errorLine(err) };
  }
  channel.end(`${JSON.stringify(answer)}\n`);
}
