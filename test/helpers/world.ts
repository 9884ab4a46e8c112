/**
 * The demo world for tests: built once per cache key (parallel test files
 * share it through the build lock), served per test file on a free port.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureWorld } from '../../world/build.js';
import { serveWorld as serveBuiltWorld, type ServedWorld } from '../../world/serve.js';
import type { ServeWorldOptions } from '../../world/serve.js';
import { exec } from '../../world/gen/exec.js';

export { ensureWorld };
export type { ServedWorld };

/** Builds (or reuses) the world and serves it; call close() in teardown. */
export async function serveWorld(options: ServeWorldOptions = {}): Promise<ServedWorld> {
  return serveBuiltWorld(await ensureWorld(), options);
}

/**
 * The config_opts a Mock .cfg sets, read by python3 executing it as Mock
 * does (include() relative to the config dir) - an oracle independent of
 * isomock's own config reader.
 */
export async function pythonConfigOpts(configDir: string, name: string): Promise<Record<string, unknown>> {
  const script = `
import json, os, sys
from collections import defaultdict
config_opts = defaultdict(dict)
def include(path):
    exec(open(os.path.join(sys.argv[1], path)).read(), globals())
include('site-defaults.cfg')
include(sys.argv[2] + '.cfg')
print(json.dumps(config_opts))
`;
  return JSON.parse(await exec(['python3', '-c', script, configDir, name])) as Record<string, unknown>;
}

/** Host dnf flags for installing into root from a served world (see test-world-notes.md). */
export function hostDnfArgs(dnfConf: string, root: string, cacheDir: string): string[] {
  return [
    'dnf',
    '-y',
    '-q',
    '-c',
    dnfConf,
    `--installroot=${root}`,
    '--releasever=1',
    '--disableplugin=local',
    `--setopt=cachedir=${join(cacheDir, 'dnf-cache')}`,
    '--setopt=install_weak_deps=0',
  ];
}

/** A private basedir, cache and result dir under scratch, so test files run in parallel. */
export function scratchOpts(scratch: string, resultdir: string): string[] {
  return [
    '--config-opts',
    `basedir=${join(scratch, 'lib')}`,
    '--config-opts',
    `cache_topdir=${join(scratch, 'cache')}`,
    '--resultdir',
    join(scratch, resultdir),
  ];
}

/** A build's options on the served world: its config dir and scratchOpts. */
export function worldBuildOpts(world: ServedWorld, scratch: string, resultdir: string, extra: string[] = []): string[] {
  return ['--configdir', world.configDir, '-r', 'world-1-x86_64', ...scratchOpts(scratch, resultdir), ...extra];
}

/** Every file of the world's directory, by URL path, for origins serving from memory. */
export function worldFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(`/${relative(dir, p)}`, readFileSync(p));
    }
  };
  walk(dir);
  return out;
}
