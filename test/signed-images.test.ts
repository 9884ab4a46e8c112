/**
 * The signed world with both bootstrap images: the dnf4 + rpm 4.18 one and
 * the dnf5 + rpm 6 one (world/images.ts), configs with gpgcheck=1 and
 * repo_gpgcheck=1 whose gpgkey is under /usr/share/distribution-gpg-keys,
 * which the bootstrap sees only because the host's directory is bound into
 * it as Mock copies it. Each image: --rebuild, calculate, isolated-repo
 * --gpgkey, --isolated-build --gpgkey; with the dnf5 image the v6-format
 * packages (signed by rpm 6's rpmsign) are locked and checked too, and an
 * unsigned v6 package is refused by isolated-repo.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isomock } from './helpers/isomock.js';
import { freePort } from './helpers/ports.js';
import { isomockMounts } from './helpers/mounts.js';
import { holdDistributionKey, type HeldDistributionKey } from './helpers/distribution-keys.js';
import { ensureWorld, scratchOpts } from './helpers/world.js';
import { startRegistry, type TestRegistry } from '../world/registry.js';
import { dnf5BootstrapLayer, pushDnf5Bootstrap, pushDnfBootstrap } from '../world/images.js';
import { ensureSignedWorld, signedKeyFile, type SignedWorld } from '../world/signed.js';
import { serveWorld, type ServedWorld } from '../world/serve.js';
import { v6Release, v6Repo } from '../world/gen/v6.js';
import { serveDirectory, type StaticServer } from '../world/server.js';
import type { WorldInfo } from '../world/manifest.js';

let registry: TestRegistry | undefined;
let served: ServedWorld | undefined;
let unsignedV6: StaticServer | undefined;
let key: HeldDistributionKey | undefined;
let world: WorldInfo;
let signed: SignedWorld;
let scratch: string;

before(async () => {
  scratch = mkdtempSync('/tmp/isomock-signed-images-test-');
  world = await ensureWorld();
  registry = await startRegistry(await freePort());
  await pushDnfBootstrap(registry.host);
  await pushDnf5Bootstrap(registry.host);
  const layer = await dnf5BootstrapLayer();
  signed = await ensureSignedWorld(world, layer);
  unsignedV6 = await serveDirectory(await v6Repo(layer));
  key = await holdDistributionKey(signed.keyFile, signedKeyFile);
  served = await serveWorld(world, {
    bootstrapImage: `${registry.host}/world/bootstrap:1`,
    dnf5: { image: `${registry.host}/world/bootstrap-dnf5:1` },
    signed: { dir: signed.dir, signing: { keyUrl: key.url }, ...(signed.v6 && { v6: signed.v6 }) },
  });
});

after(async () => {
  await served?.close();
  await unsignedV6?.close();
  await registry?.stop();
  key?.release();
  if (scratch && isomockMounts(scratch).length === 0) rmSync(scratch, { recursive: true, force: true });
});

const srpm = (name: string): string => join(world.dir, world.manifest.srpms.find((s) => s.name === name)!.file);
const resultOpts = (out: string): string[] => [...scratchOpts(scratch, out), '-q'];
const withConfig = (config: string, out: string): string[] => [
  '--configdir',
  served!.configDir,
  '-r',
  config,
  ...resultOpts(out),
];

/** The end of a result dir's root.log, for a failure's message. */
const logTail = (out: string): string => {
  try {
    return `\n${readFileSync(join(scratch, out, 'root.log'), 'utf8')
      .split('\n')
      .slice(-25)
      .join('\n')}`;
  } catch {
    return '';
  }
};

/** The three steps and --rebuild with config on sample; the lockfile's path. */
async function threeSteps(config: string, sample: string, tag: string): Promise<string> {
  const rebuilt = await isomock([...withConfig(config, `rebuild-${tag}`), '--rebuild', srpm(sample)]);
  assert.equal(rebuilt.code, 0, `${tag} --rebuild: ${rebuilt.stderr}${logTail(`rebuild-${tag}`)}`);
  // Installed afresh (not restored from the root cache the rebuild made): its root.log shows the key import.
  const calc = await isomock([
    ...withConfig(config, `calc-${tag}`),
    '--disable-plugin=root_cache',
    '--calculate-build-dependencies',
    srpm(sample),
  ]);
  assert.equal(calc.code, 0, `${tag} calculate: ${calc.stderr}`);
  const lockfile = join(scratch, `calc-${tag}`, 'buildroot_lock.json');
  const repo = join(scratch, `repo-${tag}`);
  const fetched = await isomock([
    'isolated-repo',
    '--lockfile',
    lockfile,
    '--output-repo',
    repo,
    '--gpgkey',
    key!.path,
  ]);
  assert.equal(fetched.code, 0, `${tag} isolated-repo: ${fetched.stderr}`);
  assert.match(fetched.stderr, /signatures good by the trusted key/);
  const built = await isomock([
    '--isolated-build',
    lockfile,
    repo,
    srpm(sample),
    '--gpgkey',
    key!.path,
    ...resultOpts(`ib-${tag}`),
  ]);
  assert.equal(built.code, 0, `${tag} --isolated-build: ${built.stderr}`);
  assert.match(readFileSync(join(scratch, `ib-${tag}`, 'root.log'), 'utf8'), /signatures checked by rpm/);
  return lockfile;
}

test('dnf4 image, gpgcheck=1 and repo_gpgcheck=1: --rebuild and the three steps, keys from distribution-gpg-keys', async () => {
  const config = served!.configs.find((c) => c.includes('-bootstrap-'))!;
  await threeSteps(config, 'hello-synth', 'dnf4');
  const root = readFileSync(join(scratch, 'calc-dnf4', 'root.log'), 'utf8');
  assert.match(
    root,
    /\/usr\/share\/distribution-gpg-keys\/isomock-test\//,
    'dnf imported the key from the bound directory',
  );
});

test('dnf5 image with the signed v6 packages: the three steps with gpgcheck=1; an unsigned v6 package is refused by isolated-repo', async () => {
  const config = served!.configs.find((c) => /-dnf5-[^-]+-v6$/.test(c))!;
  assert.ok(config, served!.configs.join(' '));
  const lockfile = await threeSteps(config, 'dyn-br-synth', 'dnf5');
  const lock = JSON.parse(readFileSync(lockfile, 'utf8')) as {
    buildroot: { rpms: { name: string; release: string }[] };
  };
  assert.deepEqual(
    lock.buildroot.rpms
      .filter((r) => r.release === v6Release)
      .map((r) => r.name)
      .sort(),
    ['synth-dyn-dep', 'synth-dyn-dep2'],
    'the v6 packages are locked',
  );
  // The same lockfile (without isomock's record, as Mock writes it) pointed at the unsigned v6 packages.
  const mockLock = join(scratch, 'mock-lock-v6');
  mkdirSync(mockLock);
  writeFileSync(
    join(mockLock, 'buildroot_lock.json'),
    readFileSync(lockfile, 'utf8').replaceAll(`${served!.url}v6/`, unsignedV6!.url),
  );
  const repo = join(scratch, 'repo-unsigned-v6');
  const refused = await isomock([
    'isolated-repo',
    '-q',
    '--lockfile',
    join(mockLock, 'buildroot_lock.json'),
    '--output-repo',
    repo,
    '--gpgkey',
    key!.path,
  ]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /synth-dyn-dep2?-1\.0-2\.w1\.noarch\.rpm .*is not signed/);
  assert.ok(!readdirSync(repo).some((f) => f.includes(v6Release)), 'no unsigned v6 package entered the repository');
});
