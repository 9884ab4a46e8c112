/**
 * The lockfile's URLs come from the repository metadata the package manager
 * cached (buildroot/repo-locations.ts), no longer from a `repoquery
 * --location` run. Oracle: the package manager itself. For every buildable
 * sample, with host dnf4, the dnf4 image and the dnf5 image, isomock
 * calculates (keeping the buildroot), then the test asks that same package
 * manager, in that same buildroot, Mock's query (`repoquery -q --location
 * N-V-R.A...`, read as Mock reads it), and the lockfile must be byte for byte
 * the one those URLs give.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isomock } from './helpers/isomock.js';
import { freePort } from './helpers/ports.js';
import { isomockMounts } from './helpers/mounts.js';
import { serveWorld, type ServedWorld } from './helpers/world.js';
import { startRegistry, type TestRegistry } from '../world/registry.js';
import { pushDnf5Bootstrap, pushDnfBootstrap } from '../world/images.js';
import { parseLockfile, serializeLockfile } from '../src/lockfile/lockfile.js';
import { loadBuildConfig } from '../src/index.js';
import { onlineBootstrap } from '../src/buildroot/bootstrap.js';
import { Buildroot } from '../src/buildroot/buildroot.js';
import { BuildLogs } from '../src/buildroot/logs.js';

let registry: TestRegistry | undefined;
let world: ServedWorld | undefined;
let scratch: string;

before(async () => {
  scratch = mkdtempSync('/tmp/isomock-lock-locations-test-');
  registry = await startRegistry(await freePort());
  await pushDnfBootstrap(registry.host);
  await pushDnf5Bootstrap(registry.host);
  world = await serveWorld({
    bootstrapImage: `${registry.host}/world/bootstrap:1`,
    dnf5: { image: `${registry.host}/world/bootstrap-dnf5:1` },
  });
});

after(async () => {
  await world?.close();
  await registry?.stop();
  if (scratch && isomockMounts(scratch).length === 0) rmSync(scratch, { recursive: true, force: true });
});

/** Mock's reading of repoquery's answer (installed_packages.py): the last URL per name.arch of its file name. */
function mockLocations(stdout: string): Map<string, string> {
  const byNameArch = new Map<string, string>();
  for (const url of stdout.split('\n').filter((l) => l.trim())) {
    const file = basename(url.trim());
    const name = file.split('-').slice(0, -2).join('-');
    const arch = file.split('.').at(-2)!;
    byNameArch.set(`${name}.${arch}`, url.trim());
  }
  return byNameArch;
}

/** Calculates `sample` with `config` (buildroot kept), then asks its package manager where each locked package is. */
async function compare(config: string, sample: string): Promise<number> {
  const tag = `${config}-${sample}`;
  const opts = [
    '--config-opts',
    `basedir=${join(scratch, 'lib')}`,
    '--config-opts',
    `cache_topdir=${join(scratch, 'cache')}`,
  ];
  const srpm = join(world!.world.dir, world!.world.manifest.srpms.find((s) => s.name === sample)!.file);
  const resultdir = join(scratch, tag);
  const calc = await isomock([
    '--configdir',
    world!.configDir,
    '-r',
    config,
    ...opts,
    '-N',
    '-q',
    '--resultdir',
    resultdir,
    '--calculate-build-dependencies',
    srpm,
  ]);
  assert.equal(calc.code, 0, `${tag}: ${calc.stderr}`);
  const text = readFileSync(join(resultdir, 'buildroot_lock.json'), 'utf8');
  const lock = parseLockfile(text, tag);

  const { config: built } = loadBuildConfig({
    root: config,
    configDir: world!.configDir,
    cmdline: { configOpts: [`basedir=${join(scratch, 'lib')}`, `cache_topdir=${join(scratch, 'cache')}`] },
  });
  const logs = new BuildLogs(join(scratch, `${tag}-oracle`), 'quiet');
  try {
    const boot = await onlineBootstrap(built)?.(logs);
    const br = new Buildroot(built, logs, boot?.tree);
    const nvras = lock.buildroot.rpms.map((r) => `${r.name}-${r.version}-${r.release}.${r.arch}`);
    const located = mockLocations(await br.repoquery(['repoquery', '-q', '--location', ...nvras]));
    const rpms = lock.buildroot.rpms.map((r) => ({ ...r, url: located.get(`${r.name}.${r.arch}`) ?? '(none)' }));
    assert.equal(
      text,
      serializeLockfile({ ...lock, buildroot: { rpms } }),
      `${tag}: the lockfile repoquery's URLs give`,
    );
  } finally {
    await logs.close();
  }
  return lock.buildroot.rpms.length;
}

const samples = (withFilelists: boolean): string[] =>
  world!.world.manifest.srpms
    .filter((s) => s.expect === 'builds' && (withFilelists || !s.filelists))
    .map((s) => s.name);

test('host dnf4: every sample locks the URLs repoquery --location gives, byte for byte', async () => {
  assert.ok(samples(true).length >= 4);
  for (const sample of samples(true)) assert.ok((await compare(world!.configs[0]!, sample)) > 20, sample);
});

test('dnf4 image: every sample locks the URLs repoquery --location gives, byte for byte', async () => {
  const config = world!.configs.find((c) => c.includes('-bootstrap-'))!;
  for (const sample of samples(true)) assert.ok((await compare(config, sample)) > 20, sample);
});

test('dnf5 image: every sample locks the URLs repoquery --location gives, byte for byte', async () => {
  // dnf5 reads no filelists here: the filelists sample does not resolve (build-dnf5.test.ts).
  const config = world!.configs.find((c) => /-dnf5-[^-]+$/.test(c))!;
  for (const sample of samples(false)) assert.ok((await compare(config, sample)) > 20, sample);
});
