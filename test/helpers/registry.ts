/**
 * A real registry (Debian's docker-registry, the CNCF distribution) on
 * loopback for the image tests, and the registries.conf.d entry that lets
 * podman and skopeo talk plain HTTP to it. Port 80 is shared by every test
 * file: the registry runs under flock(1), so a second file waits for the
 * first one's registry to stop instead of colliding with it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
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

/* The oracles: podman's and skopeo's view of the same images. */

export function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, stdio: 'pipe', ...(input !== undefined && { input }) });
}

/** Mock's own formula (mockbuild.podman.podman_get_oci_digest), run by Python over podman's output. */
const mockImageDigest = 'import json,sys,hashlib; d=json.load(sys.stdin)[0]; print(hashlib.sha256(json.dumps({"RootFS": d["RootFS"], "Config": d["Config"]}, sort_keys=True).encode()).hexdigest())';

export interface PodmanView {
  Digest: string;
  Id: string;
  Architecture: string;
  image_digest: string;
}

/** `podman pull` then `podman image inspect`, as Mock's hermetic plugin reads it. */
export function podmanPull(ref: string): PodmanView {
  run('podman', ['pull', '-q', ref]);
  const raw = run('podman', ['image', 'inspect', ref]);
  const [info] = JSON.parse(raw) as [{ Digest: string; Id: string; Architecture: string }];
  return { Digest: info.Digest, Id: info.Id, Architecture: info.Architecture, image_digest: run('python3', ['-c', mockImageDigest], raw).trim() };
}

export function podmanRemove(ref: string): void {
  try {
    run('podman', ['rmi', '-f', ref]);
  } catch {
    // never pulled
  }
}

/** Every path below `root`: mode, owner, and link target or content hash. */
export function tree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      const what = st.isSymbolicLink() ? `-> ${readlinkSync(join(root, r))}` : st.isFile() ? createHash('sha256').update(readFileSync(join(root, r))).digest('hex') : st.isDirectory() ? 'dir' : 'other';
      out.set(r, `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${what}`);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

/** The tree `podman image mount` shows for a pulled image. */
export function podmanTree(ref: string): Map<string, string> {
  const mnt = run('podman', ['image', 'mount', ref]).trim();
  try {
    return tree(mnt);
  } finally {
    run('podman', ['image', 'unmount', ref]);
  }
}

/** Paths whose entries differ between two trees (at most `limit`), for a readable assertion. */
export function treeDifferences(got: Map<string, string>, expected: Map<string, string>, limit = 10): string[] {
  return [...new Set([...expected.keys(), ...got.keys()])]
    .filter((p) => expected.get(p) !== got.get(p))
    .slice(0, limit)
    .map((p) => `${p}: ${got.get(p) ?? 'missing'} vs ${expected.get(p) ?? 'missing'}`);
}
