/**
 * A real forward proxy for tests: Debian's tinyproxy, its own instance with
 * its own config in a scratch directory, in the foreground, on 127.0.0.1 and
 * a free port (never the 8888 of the service Debian's package starts), as
 * root (its User/Group set so), optionally requiring basic authentication.
 *
 * `cameThrough(req)` tells an origin whether a request's connection is one
 * of tinyproxy's own sockets (its peer port belongs to the proxy process,
 * read from /proc), which holds for CONNECT tunnels too where no Via header
 * can be added.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { freePort, listening } from './ports.js';

export interface TestProxy {
  /** `http://127.0.0.1:PORT`, without credentials. */
  url: string;
  port: number;
  /** The Via name tinyproxy adds to forwarded requests. */
  viaName: string;
  cameThrough(req: IncomingMessage): boolean;
  log(): string;
  close(): Promise<void>;
}

/** Local ports of the TCP sockets process `pid` holds (IPv4 and IPv6 tables). */
function socketPorts(pid: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && inodes.has(f[9]!)) ports.add(parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

export async function startProxy(dir: string, auth?: { username: string; password: string }): Promise<TestProxy> {
  const viaName = 'isomock-test-proxy';
  // A port freed just now: tinyproxy takes its port from its config file, not from the kernel.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const conf = join(dir, `tinyproxy-${port}.conf`);
    const logFile = join(dir, `tinyproxy-${port}.log`);
    writeFileSync(
      conf,
      [
        'User root',
        'Group root',
        `Port ${port}`,
        'Listen 127.0.0.1',
        'Timeout 60',
        `LogFile "${logFile}"`,
        'LogLevel Info',
        `PidFile "${join(dir, `tinyproxy-${port}.pid`)}"`,
        'MaxClients 64',
        'Allow 127.0.0.1',
        `ViaProxyName "${viaName}"`,
        ...(auth ? [`BasicAuth ${auth.username} ${auth.password}`] : []),
        '',
      ].join('\n'),
    );
    writeFileSync(logFile, '');
    const child = spawn('tinyproxy', ['-d', '-c', conf], { stdio: 'ignore' });
    const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
    child.once('error', () => undefined);
    if (!(await listening(port, 5000, () => child.exitCode !== null))) {
      child.kill('SIGKILL');
      await exited;
      continue;
    }
    const pid = child.pid!;
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      viaName,
      cameThrough: (req) => socketPorts(pid).has(req.socket.remotePort ?? -1),
      log: () => readFileSync(logFile, 'utf8'),
      close: async () => {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      },
    };
  }
  throw new Error('tinyproxy did not start on a free port');
}
