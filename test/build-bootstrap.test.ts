/**
 * Builds with a bootstrap image holding dnf (Mock's default for isolated
 * builds): the image on a real registry at 127.0.0.1:80, referenced without
 * a port as Mock can use it; then the three isolated steps with every server
 * stopped before the last.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { isomockMounts } from './helpers/mounts.js';
import { join } from 'node:path';
import { serveWorld, type ServedWorld } from './helpers/world.js';
import { isomock } from './helpers/isomock.js';
import { startRegistry, type TestRegistry } from '../world/registry.js';
import { pushDnfBootstrap, pushRpmBootstrap } from '../world/images.js';
import { parseLockfile } from '../src/lockfile/lockfile.js';

const image = '127.0.0.1/world/bootstrap:1';
/** A bootstrap holding rpm and no resolver: enough to install an already resolved set. */
const rpmImage = '127.0.0.1/world/bootstrap-rpm:1';
let registry: TestRegistry | undefined;
let world: ServedWorld | undefined;
let scratch: string;

before(async () => {
  scratch = mkdtempSync('/tmp/isomock-bootstrap-test-');
  registry = await startRegistry(80);
  await pushDnfBootstrap(registry.host);
  await pushRpmBootstrap(registry.host, scratch);
  world = await serveWorld({ bootstrapImage: image });
  samples = world.world.manifest.srpms.filter((s) => s.expect === 'builds').map((s) => s.name);
});

async function stopServers(): Promise<void> {
  await world?.close();
  await registry?.stop();
  world = undefined;
  registry = undefined;
}
after(async () => {
  await stopServers();
  if (scratch && isomockMounts(scratch).length === 0) rmSync(scratch, { recursive: true, force: true });
});

const lib = (): string[] => [
  '--config-opts',
  `basedir=${join(scratch, 'lib')}`,
  '--config-opts',
  `cache_topdir=${join(scratch, 'cache')}`,
];
/** The samples that build; filled from the world's manifest. */
let samples: string[] = [];

function binaries(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.rpm') && !f.endsWith('.src.rpm'))
    .sort();
}

test('online: every sample builds, or fails, as the world says, with the bootstrap image', async () => {
  const w = world!;
  const config = w.configs.find((c) => c.includes('bootstrap'))!;
  for (const sample of w.world.manifest.srpms.filter((s) => s.expect !== 'builds')) {
    const srpm = join(w.world.dir, sample.file);
    const probe = ['--define', `${w.world.manifest.netProbeMacro} ${w.port}`];
    const base = [
      '--configdir',
      w.configDir,
      '-r',
      config,
      ...lib(),
      '-q',
      ...probe,
      '--resultdir',
      join(scratch, `rebuild-${sample.name}`),
    ];
    const cut = await isomock([...base, srpm]);
    assert.equal(cut.code, 10, `${sample.name}: ${cut.stderr}`);
    assert.match(
      readFileSync(join(scratch, `rebuild-${sample.name}`, 'build.log'), 'utf8'),
      /Bad exit status from .*\(%build\)/,
    );
    // Only the network-probing one builds once the network is allowed.
    const open = await isomock([...base, '--enable-network', srpm]);
    assert.equal(
      open.code,
      sample.expect === 'needs-network' ? 0 : 10,
      `${sample.name} --enable-network: ${open.stderr}`,
    );
  }
});

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
    const calc = await isomock([
      ...base,
      '--resultdir',
      join(scratch, `calc-${name}`),
      '--calculate-build-dependencies',
      srpm,
    ]);
    assert.equal(calc.code, 0, calc.stderr);
    const lock = parseLockfile(readFileSync(join(scratch, `calc-${name}`, 'buildroot_lock.json'), 'utf8'), name);
    assert.deepEqual(lock.bootstrap, {
      architecture: meta['architecture'],
      id: meta['id'],
      image_digest: meta['image_digest'],
      pull_digest: meta['pull_digest'],
    });
    assert.equal(lock.config['bootstrap_image'], image);
    const repo = await isomock([
      'isolated-repo',
      '-q',
      '--lockfile',
      join(scratch, `calc-${name}`, 'buildroot_lock.json'),
      '--output-repo',
      join(scratch, `repo-${name}`),
    ]);
    assert.equal(repo.code, 0, repo.stderr);
  }
});

test('a cached bootstrap tree that was changed after unpacking is unpacked again, not trusted', async () => {
  const w = world!;
  const config = w.configs.find((c) => c.includes('bootstrap'))!;
  const cacheDir = join(scratch, 'cache', 'isomock-bootstrap');
  const [id] = readdirSync(cacheDir).filter((d) => !d.includes('.partial'));
  const victim = join(cacheDir, id!, 'root', 'etc', 'hostname');
  writeFileSync(victim, 'tampered\n');
  const srpm = join(w.world.dir, w.world.manifest.srpms.find((s) => s.name === 'hello-synth')!.file);
  const base = ['--configdir', w.configDir, '-r', config, ...lib(), '-q'];
  const again = await isomock([...base, '--resultdir', join(scratch, 'tampered-cache'), srpm]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(
    readFileSync(join(scratch, 'tampered-cache', 'root.log'), 'utf8'),
    /changed since it was unpacked: unpacking it again/,
  );
  assert.notEqual(readFileSync(victim, 'utf8'), 'tampered\n');
  const reused = await isomock([...base, '--resultdir', join(scratch, 'reused-cache'), srpm]);
  assert.equal(reused.code, 0, reused.stderr);
  assert.match(readFileSync(join(scratch, 'reused-cache', 'root.log'), 'utf8'), /its tree checked unchanged/);
});

test('parallel roots (--uniqueext) unpacking the same image at once both build', async () => {
  const w = world!;
  const config = w.configs.find((c) => c.includes('bootstrap'))!;
  const srpm = join(w.world.dir, w.world.manifest.srpms.find((s) => s.name === 'hello-synth')!.file);
  // A fresh cache: both runs find no unpacked tree and race to make it.
  const cache = [
    '--config-opts',
    `basedir=${join(scratch, 'lib')}`,
    '--config-opts',
    `cache_topdir=${join(scratch, 'cache-race')}`,
  ];
  const runs = await Promise.all(
    ['a', 'b'].map((ext) =>
      isomock([
        '--configdir',
        w.configDir,
        '-r',
        config,
        ...cache,
        '--uniqueext',
        ext,
        '-q',
        '--resultdir',
        join(scratch, `race-${ext}`),
        srpm,
      ]),
    ),
  );
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    readdirSync(join(scratch, 'cache-race', 'isomock-bootstrap')).filter(
      (d) => d.includes('.partial') || d.includes('.stale'),
    ),
    [],
  );
});

test('rpm-only bootstrap: a build that must resolve fails clearly; a lockfile pinning it gets a repository', async () => {
  const w = world!;
  writeFileSync(
    join(w.configDir, 'world-rpm-only.cfg'),
    `include('${w.configs[0]}.cfg')\nconfig_opts['root'] = 'world-rpm-only'\nconfig_opts['use_bootstrap'] = True\nconfig_opts['bootstrap_image'] = '${rpmImage}'\nconfig_opts['bootstrap_image_ready'] = True\n`,
  );
  const srpm = join(w.world.dir, w.world.manifest.srpms.find((s) => s.name === 'hello-synth')!.file);
  const online = await isomock([
    '--configdir',
    w.configDir,
    '-r',
    'world-rpm-only',
    ...lib(),
    '-q',
    '--resultdir',
    join(scratch, 'rpm-only-online'),
    srpm,
  ]);
  assert.equal(online.code, 30, online.stderr);
  assert.match(online.stderr, /^isomock: error: no package manager in .*: looked for .*dnf/);

  // The hello-synth lockfile, its bootstrap pinned to the rpm-only image instead.
  const inspect = await isomock(['image', 'inspect', rpmImage, '--json']);
  assert.equal(inspect.code, 0, inspect.stderr);
  const meta = JSON.parse(inspect.stdout) as Record<string, string>;
  const lock = JSON.parse(readFileSync(join(scratch, 'calc-hello-synth', 'buildroot_lock.json'), 'utf8'));
  lock.config.bootstrap_image = rpmImage;
  lock.bootstrap = {
    architecture: meta['architecture'],
    id: meta['id'],
    image_digest: meta['image_digest'],
    pull_digest: meta['pull_digest'],
  };
  writeFileSync(join(scratch, 'rpm-only-lock.json'), JSON.stringify(lock, null, 4));
  const repo = await isomock([
    'isolated-repo',
    '-q',
    '--lockfile',
    join(scratch, 'rpm-only-lock.json'),
    '--output-repo',
    join(scratch, 'repo-rpm-only'),
  ]);
  assert.equal(repo.code, 0, repo.stderr);
});

test('a 1.0.0 lockfile (image_digest only): the image is fetched by tag, checked, saved as bootstrap.tar', async () => {
  const lock = JSON.parse(readFileSync(join(scratch, 'calc-hello-synth', 'buildroot_lock.json'), 'utf8'));
  lock.version = '1.0.0';
  lock.bootstrap = { image_digest: lock.bootstrap.image_digest };
  writeFileSync(join(scratch, 'lock-1.0.0.json'), JSON.stringify(lock, null, 4));
  const repo = await isomock([
    'isolated-repo',
    '-q',
    '--lockfile',
    join(scratch, 'lock-1.0.0.json'),
    '--output-repo',
    join(scratch, 'repo-1.0.0'),
  ]);
  assert.equal(repo.code, 0, repo.stderr);
  assert.ok(readdirSync(join(scratch, 'repo-1.0.0')).includes('bootstrap.tar'));
  // A tag that has moved since: the digest no longer matches.
  lock.bootstrap.image_digest = 'f'.repeat(64);
  writeFileSync(join(scratch, 'lock-moved.json'), JSON.stringify(lock, null, 4));
  const moved = await isomock([
    'isolated-repo',
    '-q',
    '--lockfile',
    join(scratch, 'lock-moved.json'),
    '--output-repo',
    join(scratch, 'repo-moved'),
  ]);
  assert.equal(moved.code, 90, moved.stderr);
  assert.match(moved.stderr, /the tag has moved since the lockfile was made/);
});

/**
 * The offline step with the servers stopped: the same binaries as the online
 * rebuild of the sample, the cut proven, and the image taken from where expected.
 */
async function offlineBuild(
  name: string,
  lockfile: string,
  repo: string,
  result: string,
  image: RegExp,
): Promise<void> {
  await stopServers();
  const calc = join(scratch, `calc-${name}`);
  const srpm = join(
    calc,
    readdirSync(calc).find((f) => f.endsWith('.src.rpm') && !f.includes('.buildreqs.'))!,
  );
  const iso = await isomock([
    '--isolated-build',
    lockfile,
    repo,
    ...lib(),
    '-q',
    '--resultdir',
    join(scratch, result),
    srpm,
  ]);
  assert.equal(iso.code, 0, iso.stderr);
  assert.deepEqual(binaries(join(scratch, result)), binaries(join(scratch, `rebuild-${name}`)));
  const rootLog = readFileSync(join(scratch, result, 'root.log'), 'utf8');
  assert.match(rootLog, /network cut verified/);
  assert.match(rootLog, image);
}

test('offline: the isolated build from the saved image, servers stopped, same binaries', async () => {
  for (const name of samples) {
    await offlineBuild(
      name,
      join(scratch, `calc-${name}`, 'buildroot_lock.json'),
      join(scratch, `repo-${name}`),
      `iso-${name}`,
      /Using container image: dir:/,
    );
  }
});

test('offline: a 1.0.0 lockfile builds from bootstrap.tar', async () => {
  await offlineBuild(
    'hello-synth',
    join(scratch, 'lock-1.0.0.json'),
    join(scratch, 'repo-1.0.0'),
    'iso-1.0.0',
    /Using container image: oci-archive:.*bootstrap\.tar/,
  );
});

test('offline: an rpm-only bootstrap is enough for the isolated build', async () => {
  await offlineBuild(
    'hello-synth',
    join(scratch, 'rpm-only-lock.json'),
    join(scratch, 'repo-rpm-only'),
    'iso-rpm-only',
    /Using container image: dir:.*bootstrap-rpm@sha256:/,
  );
});

test('an image digest that does not match the lockfile is fatal (exit 90)', async () => {
  const name = 'hello-synth';
  const lockfile = join(scratch, `calc-${name}`, 'buildroot_lock.json');
  const lock = JSON.parse(readFileSync(lockfile, 'utf8'));
  lock.bootstrap.image_digest = '0'.repeat(64);
  const bad = join(scratch, 'bad-digest.json');
  writeFileSync(bad, JSON.stringify(lock));
  const srpm = join(scratch, `calc-${name}`, `${name}-1.0-1.w1.src.rpm`);
  const r = await isomock([
    '--isolated-build',
    bad,
    join(scratch, `repo-${name}`),
    ...lib(),
    '-q',
    '--resultdir',
    join(scratch, 'bad-digest'),
    srpm,
  ]);
  assert.equal(r.code, 90, r.stderr);
  assert.match(r.stderr, /Expected digest for image .* is 0{64}, but [0-9a-f]{64} found/);
});
