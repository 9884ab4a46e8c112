/**
 * A real registry (Debian's docker-registry, the CNCF distribution) on
 * loopback, for the tests and the demo, and the registries.conf.d entry that
 * lets podman and skopeo talk plain HTTP to it. Port 80 is shared: the
 * registry runs under flock(1), so a second user waits for the first one's
 * registry to stop instead of colliding with it. Optionally the registry
 * wants a login (htpasswd basic auth, or bearer tokens from a token server),
 * serves another registry's storage, and redirects blob downloads to a
 * separate file server (the storage `redirect` middleware), as registries
 * backed by object storage do.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { serveDirectory, type RequestRecord, type StaticServer } from './server.js';

export const scratchRoot = '/tmp/iso-image';
const containersConfD = '/etc/containers/registries.conf.d';

export interface TestRegistry {
  /** `127.0.0.1` for port 80 (references carry no port), else `127.0.0.1:PORT`. */
  host: string;
  port: number;
  /** A registries.conf (+ .d) for isomock that marks this registry insecure. */
  registriesConf: string;
  /** The storage root (what `storage` of another registry takes). */
  dataDir: string;
  /** With `blobsOnPort`: every request the blob file server answered. */
  blobRequests: RequestRecord[];
  stop(): Promise<void>;
}

type RegistryAuth =
  /** Basic auth against a bcrypt htpasswd file made with `htpasswd -B`. */
  | { htpasswd: Record<string, string> }
  /** Bearer tokens: what world/token-server.ts's TokenServer offers. */
  | { token: { realm: string; service: string; issuer: string; rootCertBundle: string } };

export interface RegistryOptions {
  auth?: RegistryAuth;
  /** Serve this storage root (another registry's dataDir) instead of a fresh, empty one. */
  storage?: string;
  /** Answer blob GETs with a redirect to a file server on this port that serves the storage. */
  blobsOnPort?: number;
  /**
   * Serve HTTPS with this certificate; with `clientCa`, require a client certificate signed by it
   * (`client` is the one the readiness probe presents).
   */
  tls?: { cert: string; key: string; clientCa?: string; client?: { cert: string; key: string } };
}

function probe(port: number, tls: RegistryOptions['tls']): Promise<number> {
  return new Promise((resolve) => {
    const options = { host: '127.0.0.1', port, path: '/v2/' };
    const get = tls
      ? (cb: (res: http.IncomingMessage) => void) =>
          https.get(
            {
              ...options,
              rejectUnauthorized: false,
              ...(tls.client && { cert: readFileSync(tls.client.cert), key: readFileSync(tls.client.key) }),
            },
            cb,
          )
      : (cb: (res: http.IncomingMessage) => void) => http.get(options, cb);
    const req = get((res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
  });
}

function registryConf(host: string): string {
  return `[[registry]]\nlocation = "${host}"\ninsecure = true\n`;
}

function tlsSection(tls: RegistryOptions['tls']): string {
  if (!tls) return '';
  const clientCas = tls.clientCa ? `    clientcas:\n      - ${tls.clientCa}\n` : '';
  return `  tls:\n    certificate: ${tls.cert}\n    key: ${tls.key}\n${clientCas}`;
}

function authSection(dir: string, auth: RegistryAuth | undefined): string {
  if (auth && 'htpasswd' in auth) {
    const file = join(dir, 'htpasswd');
    const lines = Object.entries(auth.htpasswd).map(([user, password]) =>
      execFileSync('htpasswd', ['-B', '-b', '-n', user, password], { encoding: 'utf8' }).trim(),
    );
    writeFileSync(file, `${lines.join('\n')}\n`);
    return `auth:\n  htpasswd:\n    realm: isomock-test\n    path: ${file}\n`;
  }
  if (auth) {
    const t = auth.token;
    return `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.rootCertBundle}\n`;
  }
  return '';
}

export async function startRegistry(port: number, opts: RegistryOptions = {}): Promise<TestRegistry> {
  const host = port === 80 ? '127.0.0.1' : `127.0.0.1:${port}`;
  const dir = join(scratchRoot, `registry-${port}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  const dataDir = opts.storage ?? join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(dir, { recursive: true });
  const redirect =
    opts.blobsOnPort === undefined
      ? ''
      : `middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: http://127.0.0.1:${opts.blobsOnPort}\n`;
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dataDir}\n  delete:\n    enabled: true\n${redirect}http:\n  addr: 127.0.0.1:${port}\n${tlsSection(opts.tls)}${authSection(dir, opts.auth)}`,
  );
  const marker = join(dir, 'locked');
  // Both die with this process (parent-death signals), and only flock holds the lock (-o): a test
  // killed mid-run leaves no registry behind to keep the port's lock from the next one.
  const child: ChildProcess = spawn(
    'setpriv',
    [
      '--pdeathsig',
      'KILL',
      '--',
      'flock',
      '-o',
      join(scratchRoot, `registry-${port}.lock`),
      'sh',
      '-c',
      `touch "$1" && exec setpriv --pdeathsig KILL -- docker-registry serve "$2"`,
      'sh',
      marker,
      config,
    ],
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
  // A registry that wants a login answers /v2/ with 401: it is up all the same.
  const upStatus = opts.auth ? 401 : 200;
  for (let tries = 0; (await probe(port, opts.tls)) !== upStatus; tries++) {
    if (exitedEarly || tries > 100) throw new Error(`docker-registry on port ${port} did not answer: ${stderr}`);
    await sleep(100);
  }
  const podmanConf = join(containersConfD, `zz-isomock-test-${port}-${process.pid}.conf`);
  mkdirSync(containersConfD, { recursive: true });
  writeFileSync(podmanConf, registryConf(host));
  const registriesConf = join(dir, 'registries.conf');
  writeFileSync(registriesConf, registryConf(host));
  let blobs: StaticServer | undefined;
  if (opts.blobsOnPort !== undefined) blobs = await serveDirectory(dataDir, { port: opts.blobsOnPort });
  return {
    host,
    port,
    registriesConf,
    dataDir,
    blobRequests: blobs?.requests ?? [],
    async stop() {
      await blobs?.close();
      rmSync(podmanConf, { force: true });
      if (!exitedEarly && child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
