/**
 * Current Fedora's stack, for real: a bootstrap image holding dnf5 and rpm 6
 * (Debian sid, world/images.ts) and config variants shaped like Fedora's
 * templates (world/configs.ts). Every buildable sample runs --rebuild and the
 * three isolated steps with it, the last with every server stopped; the
 * lockfiles say dnf5 and lock the same packages as the dnf4 image's; the
 * filelists-only file dependency fails with dnf5's own hint until the config
 * asks for filelists; v6 packages built by rpm 6 (world/gen/v6.ts) are locked
 * with rpm's `(none)` SIGMD5, fetched, checked, installed offline, and a
 * tampered one is refused as rpm 6 and rpm 4.18 refuse it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isomock } from './helpers/isomock.js';
import { freePort } from './helpers/ports.js';
import { isomockMounts } from './helpers/mounts.js';
import { serveWorld, type ServedWorld } from './helpers/world.js';
import { startRegistry, type TestRegistry } from '../world/registry.js';
import { dnf5BootstrapLayer, pushDnf5Bootstrap, pushDnfBootstrap } from '../world/images.js';
import { rpm6Check, v6Release, v6Repo } from '../world/gen/v6.js';
import { serveDirectory, type StaticServer } from '../world/server.js';
import { parseLockfile, type Lockfile } from '../src/lockfile/lockfile.js';
import { verifyPackageDigests } from '../src/rpm/header-verify.js';

let registry: TestRegistry | undefined;
let world: ServedWorld | undefined;
let v6Server: StaticServer | undefined;
let v6Dir: string;
let scratch: string;
let dnf5Config: string;
let dnf4Config: string;

before(async () => {
  scratch = mkdtempSync('/tmp/isomock-dnf5-test-');
  registry = await startRegistry(await freePort());
  await pushDnfBootstrap(registry.host);
  await pushDnf5Bootstrap(registry.host);
  v6Dir = await v6Repo(await dnf5BootstrapLayer());
  v6Server = await serveDirectory(v6Dir);
  world = await serveWorld({
    bootstrapImage: `${registry.host}/world/bootstrap:1`,
    dnf5: { image: `${registry.host}/world/bootstrap-dnf5:1`, v6RepoUrl: v6Server.url },
  });
  dnf5Config = world.configs.find((c) => /-dnf5-[^-]+$/.test(c))!;
  dnf4Config = world.configs.find((c) => c.includes('-bootstrap-'))!;
});

async function stopServers(): Promise<void> {
  await world?.close();
  await v6Server?.close();
  await registry?.stop();
  world = undefined;
  v6Server = undefined;
  registry = undefined;
}
after(async () => {
  await stopServers();
  if (scratch && isomockMounts(scratch).length === 0) rmSync(scratch, { recursive: true, force: true });
});

const base = (config: string): string[] => [
  '--configdir',
  world!.configDir,
  '-r',
  config,
  '--config-opts',
  `basedir=${join(scratch, 'lib')}`,
  '--config-opts',
  `cache_topdir=${join(scratch, 'cache')}`,
  '-q',
];
const srpmOf = (name: string): string =>
  join(world!.world.dir, world!.world.manifest.srpms.find((s) => s.name === name)!.file);
const lockIn = (dir: string): Lockfile =>
  parseLockfile(readFileSync(join(scratch, dir, 'buildroot_lock.json'), 'utf8'), dir);
const nevras = (lock: Lockfile): string[] =>
  lock.buildroot.rpms.map((r) => `${r.name}-${r.epoch ?? 0}:${r.version}-${r.release}.${r.arch}`).sort();

/** calculate with config into calc-<tag>, then isolated-repo into repo-<tag>; the lockfile. */
async function calculateAndFetch(config: string, sample: string, tag: string): Promise<Lockfile> {
  const calc = await isomock([
    ...base(config),
    '--resultdir',
    join(scratch, `calc-${tag}`),
    '--calculate-build-dependencies',
    srpmOf(sample),
  ]);
  assert.equal(calc.code, 0, `${tag} calculate: ${calc.stderr}`);
  const lock = lockIn(`calc-${tag}`);
  const record = JSON.parse(readFileSync(join(scratch, `calc-${tag}`, 'buildroot_lock.isomock.json'), 'utf8')) as {
    packages: Record<string, { sha256: string | null; size: number | null }>;
  };
  const unhashed = Object.entries(record.packages).filter(([, p]) => p.sha256 === null || p.size === null);
  assert.deepEqual(unhashed, [], `${tag}: the isomock record hashes every package`);
  const installed = readFileSync(join(scratch, `calc-${tag}`, 'installed_pkgs.log'), 'utf8')
    .trim()
    .split('\n');
  assert.equal(installed.length, lock.buildroot.rpms.length, `${tag}: installed_pkgs.log lists the buildroot`);
  const repo = await isomock([
    'isolated-repo',
    '-q',
    '--lockfile',
    join(scratch, `calc-${tag}`, 'buildroot_lock.json'),
    '--output-repo',
    join(scratch, `repo-${tag}`),
  ]);
  assert.equal(repo.code, 0, `${tag} isolated-repo: ${repo.stderr}`);
  return lock;
}

/** The buildable samples but the filelists one, from the world's manifest. */
const plainSamples = (): string[] =>
  world!.world.manifest.srpms.filter((s) => s.expect === 'builds' && !s.filelists).map((s) => s.name);

test('dnf5 image: every sample rebuilds and calculates; lockfiles say dnf5 and lock what the dnf4 image locks', async () => {
  assert.ok(plainSamples().length >= 3);
  for (const name of plainSamples()) {
    const built = await isomock([...base(dnf5Config), '--resultdir', join(scratch, `rebuild-${name}`), srpmOf(name)]);
    assert.equal(built.code, 0, `${name} --rebuild: ${built.stderr}`);
    assert.ok(
      readdirSync(join(scratch, `rebuild-${name}`)).some((f) => f.endsWith('.noarch.rpm') || f.endsWith('.x86_64.rpm')),
    );
    const root = readFileSync(join(scratch, `rebuild-${name}`, 'root.log'), 'utf8');
    assert.match(root, /"\/usr\/bin\/dnf5","--installroot"/, `${name}: dnf5 from the image did the work`);
    const lock5 = await calculateAndFetch(dnf5Config, name, `dnf5-${name}`);
    assert.equal(lock5.config['package_manager'], 'dnf5');
    const lock4 = await calculateAndFetch(dnf4Config, name, `dnf4-${name}`);
    assert.equal(lock4.config['package_manager'], 'dnf');
    assert.deepEqual(nevras(lock5), nevras(lock4), `${name}: dnf5 and dnf4 lock the same buildroot`);
  }
});

test("dnf5 image: a file dependency only in filelists.xml fails with dnf5's own words, and resolves once filelists are asked for", async () => {
  const sample = world!.world.manifest.srpms.find((s) => s.filelists)!;
  const failed = await isomock([
    ...base(dnf5Config),
    '--resultdir',
    join(scratch, 'calc-nofilelists'),
    '--calculate-build-dependencies',
    srpmOf(sample.name),
  ]);
  assert.notEqual(failed.code, 0);
  assert.equal(failed.stderr.trim().split('\n').length, 1, failed.stderr);
  assert.match(
    failed.stderr,
    /package manager failed .*builddep.*No match for argument: \/usr\/share\/synth-data\/data.txt: dnf5 reads file lists only when dnf.conf's optional_metadata_types includes filelists/,
  );
  // dnf5's own words, in root.log.
  assert.match(
    readFileSync(join(scratch, 'calc-nofilelists', 'root.log'), 'utf8'),
    /No match for argument: \/usr\/share\/synth-data\/data.txt\nYou can try to add to command line:/,
  );
  const lock = await calculateAndFetch(`${dnf5Config}-filelists`, sample.name, 'filelists');
  assert.ok(lock.buildroot.rpms.some((r) => r.name === 'synth-data'));
});

test('v6 packages: rpm 6 is the oracle for their digests; one payload byte flipped is refused by isomock, rpm 6 and rpm 4.18', async () => {
  const layer = await dnf5BootstrapLayer();
  const files = readdirSync(v6Dir).filter((f) => f.endsWith('.rpm'));
  assert.equal(files.length, 2);
  for (const f of files) {
    const path = join(v6Dir, f);
    const rpm6 = await rpm6Check(layer, path);
    assert.equal(rpm6.code, 0, rpm6.stdout + rpm6.stderr);
    for (const d of ['Header SHA3-256', 'Header SHA256', 'Payload SHA3-256', 'Payload SHA512', 'Payload SHA256'])
      assert.match(rpm6.stdout, new RegExp(`${d} digest: OK`), `${f}: rpm 6 checks ${d}`);
    const done = await verifyPackageDigests(path, { uncompressed: true });
    for (const d of ['SHA256 header digest', 'SHA3-256 header digest', 'payload digest', 'SHA512 payload digest'])
      assert.ok(done.includes(d), `${f}: isomock checks ${d} (${done.join(', ')})`);
    assert.ok(done.includes('SHA3-256 payload digest') && done.includes('uncompressed SHA3-256 payload digest'));
    assert.ok(!done.includes('SIGMD5'), 'a v6 package has no SIGMD5');
  }
  const victimDir = join(scratch, 'tampered');
  mkdirSync(victimDir);
  const victim = join(victimDir, files[0]!);
  const bytes = readFileSync(join(v6Dir, files[0]!));
  bytes[bytes.length - 20] ^= 0x01;
  writeFileSync(victim, bytes);
  await assert.rejects(verifyPackageDigests(victim), /payload digest mismatch/);
  assert.notEqual((await rpm6Check(layer, victim)).code, 0, 'rpm 6 refuses it');
  assert.throws(() => execFileSync('rpm', ['-K', victim], { stdio: 'pipe' }), 'rpm 4.18 refuses it');
});

test('v6 packages: locked with (none) SIGMD5 as Mock records it, fetched, and a tampered one refused offline', async () => {
  const lock = await calculateAndFetch(`${dnf5Config}-v6`, 'dyn-br-synth', 'v6');
  const v6 = lock.buildroot.rpms.filter((r) => r.release === v6Release);
  assert.deepEqual(v6.map((r) => r.name).sort(), ['synth-dyn-dep', 'synth-dyn-dep2']);
  for (const r of v6) assert.deepEqual([r.sigmd5, r.signature], ['(none)', null], r.name);
  assert.ok(lock.buildroot.rpms.filter((r) => r.release !== v6Release).every((r) => /^[0-9a-f]{32}$/.test(r.sigmd5)));
  // A copy of the offline repo with one v6 payload byte flipped: the offline build refuses it.
  const bad = join(scratch, 'repo-v6-tampered');
  execFileSync('cp', ['-a', join(scratch, 'repo-v6'), bad]);
  const file = readdirSync(bad).find((f) => f.startsWith('synth-dyn-dep2-'))!;
  const bytes = readFileSync(join(bad, file));
  bytes[bytes.length - 20] ^= 0x01;
  writeFileSync(join(bad, file), bytes);
  const refused = await isomock([
    ...base(dnf5Config).slice(4),
    '--resultdir',
    join(scratch, 'iso-v6-tampered'),
    '--isolated-build',
    join(scratch, 'calc-v6', 'buildroot_lock.json'),
    bad,
    srpmOf('dyn-br-synth'),
  ]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, new RegExp(`${file.replace(/[.+]/g, '\\$&')}.*(digest|SHA-256)`));
  copyFileSync(join(v6Dir, file), join(bad, file));
});

test('offline, every server stopped: each dnf5 lockfile (and the v6 one) builds from its repository', async () => {
  const tags = [...plainSamples().map((n) => `dnf5-${n}`), 'filelists', 'v6'];
  await stopServers();
  for (const tag of tags) {
    const lock = lockIn(`calc-${tag}`);
    const srpm = readdirSync(join(scratch, `calc-${tag}`)).find((f) => f.endsWith('.src.rpm'))!;
    const built = await isomock([
      '--config-opts',
      `basedir=${join(scratch, 'lib')}`,
      '--config-opts',
      `cache_topdir=${join(scratch, 'cache-offline')}`,
      '-q',
      '--resultdir',
      join(scratch, `iso-${tag}`),
      '--isolated-build',
      join(scratch, `calc-${tag}`, 'buildroot_lock.json'),
      join(scratch, `repo-${tag}`),
      join(scratch, `calc-${tag}`, srpm),
    ]);
    assert.equal(built.code, 0, `${tag}: ${built.stderr}`);
    assert.equal(lock.config['package_manager'], 'dnf5');
    const binaries = readdirSync(join(scratch, `iso-${tag}`)).filter(
      (f) => f.endsWith('.rpm') && !f.endsWith('.src.rpm'),
    );
    assert.ok(binaries.length > 0, `${tag}: binaries built`);
  }
});
