/**
 * Ports for test servers that take theirs from a config or a flag (tinyproxy,
 * openssl s_server) instead of binding port 0: one the kernel just gave out
 * and freed, and a wait until the server listens on it. The caller retries
 * on the rare collision.
 */
import { createServer, connect, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', () => ok()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((ok) => probe.close(() => ok()));
  return port;
}

/** True once 127.0.0.1:port accepts a connection, false at the deadline or when `gone()` says the server exited. */
export async function listening(port: number, timeoutMs: number, gone: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !gone()) {
    const up = await new Promise<boolean>((ok) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), ok(true)));
      s.once('error', () => ok(false));
    });
    if (up) return true;
    await sleep(50);
  }
  return false;
}
