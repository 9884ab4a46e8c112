/**
 * The image tests' oracles (podman's and skopeo's view of an image) and the
 * loopback registry (world/registry.ts).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export { scratchRoot, startRegistry, type TestRegistry } from '../../world/registry.js';

/* The oracles: podman's and skopeo's view of the same images. */

export function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: 'pipe',
    ...(input !== undefined && { input }),
  });
}

/** Mock's own formula (mockbuild.podman.podman_get_oci_digest), run by Python over podman's output. */
const mockImageDigest =
  'import json,sys,hashlib; d=json.load(sys.stdin)[0]; print(hashlib.sha256(json.dumps({"RootFS": d["RootFS"], "Config": d["Config"]}, sort_keys=True).encode()).hexdigest())';

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
  return {
    Digest: info.Digest,
    Id: info.Id,
    Architecture: info.Architecture,
    image_digest: run('python3', ['-c', mockImageDigest], raw).trim(),
  };
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
      const what = st.isSymbolicLink()
        ? `-> ${readlinkSync(join(root, r))}`
        : st.isFile()
          ? createHash('sha256')
              .update(readFileSync(join(root, r)))
              .digest('hex')
          : st.isDirectory()
            ? 'dir'
            : 'other';
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
