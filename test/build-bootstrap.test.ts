/**
 * Builds with a bootstrap image holding dnf (Mock's default for isolated
 * builds): the image on a real registry at 127.0.0.1:80, referenced without
 * a port as Mock can use it; then the three isolated steps with every server
 * stopped before the last.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveWorld, type ServedWorld } from './helpers/world.js';
import { isomock } from './helpers/isomock.js';
import { startRegistry, type TestRegistry } from '../world/registry.js';
import { pushDnfBootstrap } from '../world/images.js';
import { parseLockfile } from '../src/lockfile/lockfile.js';

const image = '127.0.0.1/world/bootstrap:1';
let registry: TestRegistry | undefined;
let world: ServedWorld | undefined;
let scratch: string;

before(async () => {
  scratch = mkdtempSync('/tmp/isomock-bootstrap-test-');
  registry = await startRegistry(80);
  await pushDnfBootstrap(registry.host);
  world = await serveWorld({ bootstrapImage: image });
});

async function stopServers(): Promise<void> {
  await world?.close();
  await registry?.stop();
  world = undefined;
  registry = undefined;
}
after(stopServers);

const lib = (): string[] => ['--config-opts', `basedir=${join(scratch, 'lib')}`, '--config-opts', `cache_topdir=${join(scratch, 'cache')}`];
const samples = ['hello-synth', 'dyn-br-synth'];

function binaries(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.rpm') && !f.endsWith('.src.rpm')).sort();
}

test('online: rebuild and calculate from the bootstrap image, lockfile with its bootstrap section', async () => {
  const w = world!;
  const config = w.configs.find((c) => c.includes('bootstrap'))!;
  const inspect = await isomock(['image', 'inspect', image, '--json']);
  assert.equal(inspect.code, 0, inspect.stderr);
  const meta = JSON.parse(inspect.stdout) as Record<string, string>;
  for (const name of samples) {
    const srpm = join(w.world.dir, w.world.manifest.srpms.find((s) => s.name === name)!.file);
    const base = ['--configdir', w.configDir, '-r', config, ...lib(), '-q'];
    const built = await isomock([...base, '--resultdir', join(scratch, `rebuild-${name}`), srpm]);
    assert.equal(built.code, 0, built.stderr);
    const calc = await isomock([...base, '--resultdir', join(scratch, `calc-${name}`), '--calculate-build-dependencies', srpm]);
    assert.equal(calc.code, 0, calc.stderr);
    const lock = parseLockfile(readFileSync(join(scratch, `calc-${name}`, 'buildroot_lock.json'), 'utf8'), name);
    assert.deepEqual(lock.bootstrap, { architecture: meta['architecture'], id: meta['id'], image_digest: meta['image_digest'], pull_digest: meta['pull_digest'] });
    assert.equal(lock.config['bootstrap_image'], image);
    const repo = await isomock(['isolated-repo', '-q', '--lockfile', join(scratch, `calc-${name}`, 'buildroot_lock.json'), '--output-repo', join(scratch, `repo-${name}`)]);
    assert.equal(repo.code, 0, repo.stderr);
  }
});

test('offline: the isolated build from the saved image, servers stopped, same binaries', async () => {
  await stopServers();
  for (const name of samples) {
    const srpmDir = readdirSync(join(scratch, `calc-${name}`)).find((f) => f.endsWith('.src.rpm') && !f.includes('buildreqs'))!;
    const srpm = join(scratch, `calc-${name}`, srpmDir);
    const iso = await isomock(['--isolated-build', join(scratch, `calc-${name}`, 'buildroot_lock.json'), join(scratch, `repo-${name}`), ...lib(), '-q', '--resultdir', join(scratch, `iso-${name}`), srpm]);
    assert.equal(iso.code, 0, iso.stderr);
    assert.deepEqual(binaries(join(scratch, `iso-${name}`)), binaries(join(scratch, `rebuild-${name}`)));
    const rootLog = readFileSync(join(scratch, `iso-${name}`, 'root.log'), 'utf8');
    assert.match(rootLog, /network cut verified/);
    assert.match(rootLog, /Using container image: dir:/);
  }
});

test('an image digest that does not match the lockfile is fatal (exit 90)', async () => {
  const name = 'hello-synth';
  const lockfile = join(scratch, `calc-${name}`, 'buildroot_lock.json');
  const lock = JSON.parse(readFileSync(lockfile, 'utf8'));
  lock.bootstrap.image_digest = '0'.repeat(64);
  const bad = join(scratch, 'bad-digest.json');
  writeFileSync(bad, JSON.stringify(lock));
  const srpm = join(scratch, `calc-${name}`, `${name}-1.0-1.w1.src.rpm`);
  const r = await isomock(['--isolated-build', bad, join(scratch, `repo-${name}`), ...lib(), '-q', '--resultdir', join(scratch, 'bad-digest'), srpm]);
  assert.equal(r.code, 90, r.stderr);
  assert.match(r.stderr, /Expected digest for image .* is 0{64}, but [0-9a-f]{64} found/);
});
