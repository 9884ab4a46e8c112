/**
 * A real registry (Debian's docker-registry, the CNCF distribution) on
 * loopback, for the tests and the demo, and the registries.conf.d entry that
 * lets podman and skopeo talk plain HTTP to it. Port 80 is shared: the
 * registry runs under flock(1), so a second user waits for the first one's
 * registry to stop instead of colliding with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const scratchRoot = '/tmp/iso-image';
const containersConfD = '/etc/containers/registries.conf.d';

export interface TestRegistry {
  /** `127.0.0.1` for port 80 (references carry no port), else `127.0.0.1:PORT`. */
  host: string;
  port: number;
  /** A registries.conf (+ .d) for isomock that marks this registry insecure. */
  registriesConf: string;
  stop(): Promise<void>;
}

function probe(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/v2/' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
  });
}

function registryConf(host: string): string {
  return `[[registry]]\nlocation = "${host}"\ninsecure = true\n`;
}

export async function startRegistry(port: number): Promise<TestRegistry> {
  const host = port === 80 ? '127.0.0.1' : `127.0.0.1:${port}`;
  const dir = join(scratchRoot, `registry-${port}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'data'), { recursive: true });
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const marker = join(dir, 'locked');
  const child: ChildProcess = spawn(
    'flock',
    [join(scratchRoot, `registry-${port}.lock`), 'sh', '-c', `touch "$1" && exec docker-registry serve "$2"`, 'sh', marker, config],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  // Another test file may hold the port for a while: wait for the lock, then for the server.
  for (let waited = 0; !existsSync(marker); waited += 100) {
    if (exitedEarly) throw new Error(`docker-registry on port ${port} did not start: ${stderr}`);
    if (waited > 600_000) throw new Error(`port ${port} registry lock not obtained in 10 minutes`);
    await sleep(100);
  }
  for (let tries = 0; (await probe(port)) !== 200; tries++) {
    if (exitedEarly || tries > 100) throw new Error(`docker-registry on port ${port} did not answer: ${stderr}`);
    await sleep(100);
  }
  const podmanConf = join(containersConfD, `zz-isomock-test-${port}-${process.pid}.conf`);
  mkdirSync(containersConfD, { recursive: true });
  writeFileSync(podmanConf, registryConf(host));
  const registriesConf = join(dir, 'registries.conf');
  writeFileSync(registriesConf, registryConf(host));
  return {
    host,
    port,
    registriesConf,
    async stop() {
      rmSync(podmanConf, { force: true });
      if (!exitedEarly && child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
