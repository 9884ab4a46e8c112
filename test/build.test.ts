/**
 * The normal build and the isolated flow on the demo world, in host-dnf
 * mode (use_bootstrap = False, as the world's configs say), through the CLI.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { scratchOpts, serveWorld, worldBuildOpts, type ServedWorld } from './helpers/world.js';
import { isomock } from './helpers/isomock.js';
import { referenceDir } from './helpers/paths.js';
import { isomockMounts } from './helpers/mounts.js';
import { parseLockfile, rpmFileName } from '../src/lockfile/lockfile.js';

let world: ServedWorld;
let scratch: string;

before(async () => {
  world = await serveWorld();
  scratch = mkdtempSync('/tmp/isomock-build-test-');
});
after(async () => {
  await world?.close();
  // Buildroots are deleted only when nothing is mounted in them (there never is: see sandbox.ts).
  if (scratch && isomockMounts(scratch).length === 0) rmSync(scratch, { recursive: true, force: true });
});

/** Common options: the world's config dir and a private basedir, so test files can run in parallel. */
const opts = (name: string, extra: string[] = []): string[] => worldBuildOpts(world, scratch, name, ['-q', ...extra]);

const srpm = (name: string): string =>
  join(world.world.dir, world.world.manifest.srpms.find((s) => s.name === name)!.file);

function rpmQuery(file: string, format: string): string {
  return execFileSync('rpm', ['-qp', '--nosignature', '--qf', format, file], { encoding: 'utf8' });
}

test('every sample SRPM builds, or fails, as the world says', async () => {
  for (const sample of world.world.manifest.srpms) {
    const extra =
      sample.expect === 'needs-network' ? ['--define', `${world.world.manifest.netProbeMacro} ${world.port}`] : [];
    const r = await isomock([...opts(sample.name, extra), srpm(sample.name)]);
    const resultdir = join(scratch, sample.name);
    assert.ok(existsSync(join(resultdir, 'build.log')), `${sample.name}: build.log`);
    if (sample.expect === 'builds') {
      assert.equal(r.code, 0, `${sample.name}: ${r.stderr}`);
      // Mock's cleanup_on_success: the result dir is outside the root's dir, so the buildroot goes.
      assert.ok(
        !existsSync(join(scratch, 'lib', 'world-1-x86_64', 'root')),
        `${sample.name}: buildroot removed after success`,
      );
      assert.match(readFileSync(join(resultdir, 'state.log'), 'utf8'), /Finish: clean chroot/);
      const rpms = readdirSync(resultdir).filter((f) => f.endsWith('.rpm') && !f.endsWith('.src.rpm'));
      assert.deepEqual(rpms.map((f) => rpmQuery(join(resultdir, f), '%{NAME}')).sort(), [...sample.binaries].sort());
      for (const f of rpms) {
        assert.equal(rpmQuery(join(resultdir, f), '%{BUILDHOST}'), 'world-build.isomock.test', f);
        assert.match(
          rpmQuery(join(resultdir, f), '%{RELEASE}'),
          new RegExp(`${world.world.manifest.dist.replace('.', '\\.')}$`),
          f,
        );
      }
    } else {
      // needs-network fails because rpmbuild's network is cut; fails fails in %build.
      assert.equal(r.code, 10, `${sample.name}: ${r.stderr}`);
      assert.match(r.stderr, /^isomock: error: rpmbuild of .* failed .*build\.log\n$/);
      assert.match(readFileSync(join(resultdir, 'build.log'), 'utf8'), /Bad exit status from .*\(%build\)/);
    }
  }
});

test('the network-probing SRPM builds with --enable-network', async () => {
  const r = await isomock([
    ...opts('net-on', ['--enable-network', '--define', `net_probe_port ${world.port}`]),
    srpm('net-probe-synth'),
  ]);
  assert.equal(r.code, 0, r.stderr);
});

test('calculate, then an isolated build offline from the locked packages alone', async () => {
  const ajv = new Ajv({ strict: false });
  ajv.addMetaSchema(createRequire(import.meta.url)('ajv/dist/refs/json-schema-draft-06.json'));
  const validate = ajv.compile(
    JSON.parse(readFileSync(join(referenceDir, 'buildroot-lock-schema-1.1.0.json'), 'utf8')),
  );
  // dyn-br-synth's three steps run through the installed npm package's API instead (package.test).
  const samples = world.world.manifest.srpms.filter((s) => s.expect === 'builds' && s.name !== 'dyn-br-synth');
  for (const sample of samples) {
    // -N keeps the buildroot (the result dir is outside it, so Mock's cleanup_on_success applies otherwise).
    const calc = await isomock([
      ...opts(`calc-${sample.name}`),
      '-N',
      '--calculate-build-dependencies',
      srpm(sample.name),
    ]);
    assert.equal(calc.code, 0, calc.stderr);
    const dir = join(scratch, `calc-${sample.name}`);
    const text = readFileSync(join(dir, 'buildroot_lock.json'), 'utf8');
    assert.ok(validate(JSON.parse(text)), JSON.stringify(validate.errors));
    const lock = parseLockfile(text, 'lock');
    const files = readdirSync(dir);
    assert.ok(files.includes(`${sample.name}-1.0-1.w1.src.rpm`));
    assert.equal(
      files.some((f) => f.endsWith('.buildreqs.nosrc.rpm')),
      sample.dynamicRounds > 0,
      sample.name,
    );
    assert.ok(
      !files.some((f) => f.endsWith('.x86_64.rpm') || f.endsWith('.noarch.rpm')),
      'calculate stops before %build',
    );
    // The lockfile is the buildroot: rpm -qa there, gpg-pubkey aside.
    const root = join(scratch, 'lib', 'world-1-x86_64', 'root');
    const qa = execFileSync('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-qa', '--qf', '%{NAME}\\n'], {
      encoding: 'utf8',
    });
    assert.deepEqual(
      lock.buildroot.rpms.map((r) => r.name).sort(),
      qa
        .split('\n')
        .filter((n) => n && n !== 'gpg-pubkey')
        .sort(),
    );

    // The offline repository: for one sample made as mock-hermetic-repo makes it (each URL
    // downloaded flat, createrepo_c --compatibility), for the others by isomock isolated-repo.
    const repo = join(scratch, `repo-${sample.name}`);
    if (sample.name === 'hello-synth') {
      execFileSync('mkdir', ['-p', repo]);
      for (const rpm of lock.buildroot.rpms) {
        writeFileSync(join(repo, rpmFileName(rpm)), Buffer.from(await (await fetch(rpm.url)).arrayBuffer()));
      }
      execFileSync('createrepo_c', ['-q', '--compatibility', repo]);
    } else {
      const made = await isomock([
        'isolated-repo',
        '-q',
        '--lockfile',
        join(dir, 'buildroot_lock.json'),
        '--output-repo',
        repo,
      ]);
      assert.equal(made.code, 0, made.stderr);
    }

    const iso = await isomock([
      '--isolated-build',
      join(dir, 'buildroot_lock.json'),
      repo,
      ...scratchOpts(scratch, `iso-${sample.name}`),
      '-q',
      srpm(sample.name),
    ]);
    assert.equal(iso.code, 0, iso.stderr);
    const isoDir = join(scratch, `iso-${sample.name}`);
    const built = readdirSync(isoDir)
      .filter((f) => f.endsWith('.rpm') && !f.endsWith('.src.rpm'))
      .sort();
    const online = readdirSync(join(scratch, sample.name))
      .filter((f) => f.endsWith('.rpm') && !f.endsWith('.src.rpm'))
      .sort();
    assert.deepEqual(built, online, 'same binary NEVRAs as the normal build');
    assert.match(readFileSync(join(isoDir, 'root.log'), 'utf8'), /network cut verified/);
  }
});

test('--isolated-build refuses -r, a repository without a locked RPM, and a tampered RPM', async () => {
  const dir = join(scratch, 'calc-hello-synth');
  const lockfile = join(dir, 'buildroot_lock.json');
  const common = ['--config-opts', `basedir=${join(scratch, 'lib')}`, '-q', srpm('hello-synth')];
  const withR = await isomock([
    '--isolated-build',
    lockfile,
    join(scratch, 'repo-hello-synth'),
    '-r',
    'world-1-x86_64',
    ...common,
  ]);
  assert.equal(withR.code, 5);

  const lock = parseLockfile(readFileSync(lockfile, 'utf8'), 'lock');
  const partial = join(scratch, 'repo-partial');
  execFileSync('cp', ['-a', join(scratch, 'repo-hello-synth'), partial]);
  execFileSync('rm', [join(partial, rpmFileName(lock.buildroot.rpms[0]!))]);
  const missing = await isomock(['--isolated-build', lockfile, partial, ...common]);
  assert.equal(missing.code, 5);
  assert.match(missing.stderr, new RegExp(`lacks 1 locked package\\(s\\): ${lock.buildroot.rpms[0]!.name}-`));

  const tampered = join(scratch, 'repo-tampered');
  execFileSync('cp', ['-a', join(scratch, 'repo-hello-synth'), tampered]);
  const victim = join(tampered, rpmFileName(lock.buildroot.rpms[1]!));
  const bytes = readFileSync(victim);
  bytes[bytes.length - 100] ^= 0xff;
  writeFileSync(victim, bytes);
  const bad = await isomock(['--isolated-build', lockfile, tampered, ...common]);
  assert.notEqual(bad.code, 0);
  assert.match(
    bad.stderr,
    new RegExp(`${rpmFileName(lock.buildroot.rpms[1]!).replace(/[.+]/g, '\\$&')} is not .* from the lockfile`),
  );
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
});

test('--buildsrpm makes a source package from a spec and its sources, which then rebuilds', async () => {
  const src = join(scratch, 'spec-src');
  execFileSync('mkdir', ['-p', src]);
  writeFileSync(join(src, 'greeting.txt'), 'hello from a source file\n');
  writeFileSync(
    join(src, 'from-spec.spec'),
    [
      'Name: from-spec',
      'Version: 2.0',
      'Release: 1%{?dist}',
      'Summary: built with --buildsrpm',
      'License: MIT',
      'BuildArch: noarch',
      'Source0: greeting.txt',
      '%description',
      'x',
      '%install',
      'install -D -m 0644 %{SOURCE0} %{buildroot}/usr/share/from-spec/greeting.txt',
      '%files',
      '/usr/share/from-spec/greeting.txt',
      '',
    ].join('\n'),
  );
  const made = await isomock([
    ...opts('buildsrpm'),
    '--buildsrpm',
    '--spec',
    join(src, 'from-spec.spec'),
    '--sources',
    src,
  ]);
  assert.equal(made.code, 0, made.stderr);
  const srpmFile = join(scratch, 'buildsrpm', `from-spec-2.0-1${world.world.manifest.dist}.src.rpm`);
  assert.deepEqual(rpmQuery(srpmFile, '[%{FILENAMES}\\n]').trim().split('\n').sort(), [
    'from-spec.spec',
    'greeting.txt',
  ]);
  const built = await isomock([...opts('from-spec'), srpmFile]);
  assert.equal(built.code, 0, built.stderr);
  assert.ok(readdirSync(join(scratch, 'from-spec')).includes(`from-spec-2.0-1${world.world.manifest.dist}.noarch.rpm`));
  const noSpec = await isomock([...opts('buildsrpm-bad'), '--buildsrpm']);
  assert.equal(noSpec.code, 5);
});

test('a killed build leaves no mount behind, and the next build proceeds', async () => {
  assert.deepEqual(isomockMounts(scratch), []);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
    // Killed while the package manager installs the buildroot (progress lines need no -q);
    // without the root cache an earlier test made, which would replace that install.
    const args = [...opts(`killed-${signal}`).filter((o) => o !== '-q'), '--disable-plugin=root_cache'];
    const r = await isomock([...args, srpm('hello-synth')], {
      signalOn: { signal, stderr: /Start: installing minimal buildroot/ },
    });
    assert.notEqual(r.code, 0, signal);
    // Nothing of the killed build runs on (dnf, rpm: their argv names the buildroot); give the kernel a moment.
    const leftovers = (): boolean => spawnSync('pgrep', ['-f', join(scratch, 'lib')]).status === 0;
    for (let i = 0; i < 30 && leftovers(); i++) await new Promise((res) => setTimeout(res, 100));
    assert.equal(leftovers(), false, `processes after ${signal}`);
    assert.deepEqual(isomockMounts(scratch), [], `mounts after ${signal}`);
  }
  const next = await isomock([...opts('after-kill'), srpm('hello-synth')]);
  assert.equal(next.code, 0, next.stderr);
});
