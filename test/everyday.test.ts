/**
 * Mock's everyday options through ./bin/isomock on the demo world (host-dnf
 * mode): --copyin/--copyout (with links planted in the buildroot), --pm-cmd,
 * --postinstall, --short-circuit, --rpmbuild-opts, --chain with --localrepo,
 * and the default plugins' files (hw_info.log, installed_pkgs.log,
 * available_pkgs.log, expanded-spec.txt, chroot_scan). The host's rpm reading
 * the buildroot's database, and the files themselves, are the oracles.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { serveWorld, worldBuildOpts, type ServedWorld } from './helpers/world.js';
import { isomock, type CliResult } from './helpers/isomock.js';

let world: ServedWorld;
let scratch: string;

before(async () => {
  world = await serveWorld();
  scratch = mkdtempSync('/tmp/isomock-everyday-test-');
});
after(async () => {
  await world?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const rootName = (): string => 'world-1-x86_64';

/** Each test its own basedir, cache and result dir. */
const opts = (name: string, extra: string[] = []): string[] =>
  worldBuildOpts(world, join(scratch, name), 'result', ['-q', ...extra]);
const rootdir = (name: string): string => join(scratch, name, 'lib', rootName(), 'root');
const resultdir = (name: string): string => join(scratch, name, 'result');
const srpm = (name: string): string =>
  join(world.world.dir, world.world.manifest.srpms.find((s) => s.name === name)!.file);

function ok(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
}

/** One line on stderr, the given exit code. */
function fails(r: CliResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
}

function rpmInstalled(name: string, pkg: string): boolean {
  const r = spawnSync('rpm', ['--root', rootdir(name), '--dbpath', world.world.manifest.dbpath, '-q', pkg]);
  return r.status === 0;
}

test('--copyin and --copyout copy files and trees as Mock does, never through a planted link', async () => {
  const name = 'copy';
  const host = join(scratch, 'host-files');
  mkdirSync(join(host, 'tree', 'sub'), { recursive: true });
  writeFileSync(join(host, 'one.txt'), 'one\n');
  writeFileSync(join(host, 'tree', 'sub', 'two.txt'), 'two\n');
  ok(await isomock([...opts(name), '--copyin', join(host, 'one.txt'), join(host, 'tree'), '/builddir']), 'copyin');
  const root = rootdir(name);
  assert.equal(readFileSync(join(root, 'builddir', 'one.txt'), 'utf8'), 'one\n');
  assert.equal(readFileSync(join(root, 'builddir', 'tree', 'sub', 'two.txt'), 'utf8'), 'two\n');
  // Mock chowns the build user's home to the build user.
  const buildUid = lstatSync(join(root, 'builddir')).uid;
  assert.equal(lstatSync(join(root, 'builddir', 'tree', 'sub', 'two.txt')).uid, buildUid);
  // A tree already there is Mock's "Destination ... already exists!", exit 50.
  fails(await isomock([...opts(name), '--copyin', join(host, 'tree'), '/builddir']), 50, /already exists/);
  fails(await isomock([...opts(name), '--copyin', '/builddir']), 50, /Must have source and destinations/);

  // --copyout: a glob, `~` the build user's home, a tree to a new host directory.
  const out = join(scratch, 'out');
  mkdirSync(out);
  ok(await isomock([...opts(name), '--copyout', '~/*.txt', '/etc/passw?', out]), 'copyout glob');
  assert.deepEqual(readdirSync(out).sort(), ['one.txt', 'passwd']);
  assert.equal(readFileSync(join(out, 'one.txt'), 'utf8'), 'one\n');
  ok(await isomock([...opts(name), '--copyout', '/builddir/tree', join(out, 'tree-copy')]), 'copyout tree');
  assert.equal(readFileSync(join(out, 'tree-copy', 'sub', 'two.txt'), 'utf8'), 'two\n');
  fails(await isomock([...opts(name), '--copyout', '/no/such/file', out]), 50, /not found/);

  // Hostile: links planted in the buildroot, as a package or the build user could.
  const secret = join(scratch, 'host-secret');
  writeFileSync(secret, 'host secret\n');
  symlinkSync(secret, join(root, 'builddir', 'link-to-host'));
  symlinkSync('/etc', join(root, 'builddir', 'dir-link'));
  mkdirSync(join(root, 'builddir', 'trap'));
  symlinkSync(secret, join(root, 'builddir', 'trap', 'inner'));
  for (const src of ['/builddir/link-to-host', '/builddir/dir-link/passwd', '/builddir/trap']) {
    const target = join(out, `leak-${src.replace(/\W/g, '_')}`);
    const r = await isomock([...opts(name), '--copyout', src, target]);
    assert.notEqual(r.code, 0, `--copyout ${src} must fail`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(existsSync(target), false, `${src}: nothing appears on the host`);
  }
  assert.deepEqual(
    readdirSync(out).filter((f) => f.startsWith('.')),
    [],
    'no temporary left',
  );
  // --copyin into a planted link: refused, the host file untouched.
  const r = await isomock([...opts(name), '--copyin', join(host, 'one.txt'), '/builddir/link-to-host']);
  assert.notEqual(r.code, 0, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  const r2 = await isomock([...opts(name), '--copyin', join(host, 'one.txt'), '/builddir/dir-link/isomock-test']);
  assert.notEqual(r2.code, 0, r2.stderr);
  assert.equal(existsSync('/etc/isomock-test'), false);
  assert.equal(readFileSync(secret, 'utf8'), 'host secret\n');
});

test('--pm-cmd and --dnf-cmd run the package manager in the buildroot', async () => {
  const name = 'pm-cmd';
  assert.equal(rpmInstalled(name, 'synth-data'), false);
  ok(await isomock([...opts(name), '--pm-cmd', 'install', 'synth-data']), '--pm-cmd install');
  assert.equal(rpmInstalled(name, 'synth-data'), true);
  ok(await isomock([...opts(name), '--dnf-cmd', 'remove', 'synth-data']), '--dnf-cmd remove');
  assert.equal(rpmInstalled(name, 'synth-data'), false);
  // The package manager's own failure is Mock's exit 30, one line.
  fails(await isomock([...opts(name), '--pm-cmd', 'install', 'no-such-package-x']), 30, /package manager failed/);
});

/** Names and payload compressor of the binary RPMs in a result dir. */
function builtRpms(dir: string): { file: string; compressor: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.rpm') && !f.endsWith('.src.rpm'))
    .map((file) => ({
      file,
      compressor: spawnSync('rpm', ['-qp', '--qf', '%{PAYLOADCOMPRESSOR}', join(dir, file)], { encoding: 'utf8' })
        .stdout,
    }));
}

test('--postinstall installs what was built; --rpmbuild-opts reach rpmbuild; --short-circuit reruns a stage', async () => {
  const name = 'build-opts';
  const r = await isomock([
    ...opts(name, ['-N', '--postinstall', '--rpmbuild-opts', "--define '_binary_payload w9.gzdio'"]),
    srpm('hello-synth'),
  ]);
  ok(r, 'build');
  const rpms = builtRpms(resultdir(name));
  assert.equal(rpms.length, 1, JSON.stringify(rpms));
  assert.equal(rpms[0]!.compressor, 'gzip', 'rpmbuild got --define from --rpmbuild-opts');
  assert.equal(rpmInstalled(name, 'hello-synth'), true, '--postinstall installed the built package');
  // Mock's default plugins wrote their files.
  const hw = readFileSync(join(resultdir(name), 'hw_info.log'), 'utf8');
  assert.match(hw, /^CPU info:\n[\s\S]*\n\nMemory:\n[\s\S]*Mem:[\s\S]*\n\nStorage \(chroot, cache_topdir\):\n/);
  assert.match(readFileSync(join(resultdir(name), 'installed_pkgs.log'), 'utf8'), /^synth-lib-\S+ \d+ \d+ installed$/m);
  assert.equal(existsSync(join(resultdir(name), 'available_pkgs.log')), false, 'available_pkgs is off by default');

  // --short-circuit=install: no clean, only %install runs (on the last %build), no packages.
  rmSync(resultdir(name), { recursive: true });
  ok(await isomock([...opts(name, ['-N', '--short-circuit', 'install']), srpm('hello-synth')]), 'short circuit');
  const log = readFileSync(join(resultdir(name), 'build.log'), 'utf8');
  assert.match(log, /Executing\(%install\)/);
  assert.doesNotMatch(log, /Executing\(%build\)|Executing\(%prep\)/);
  assert.deepEqual(builtRpms(resultdir(name)), []);
  assert.equal(rpmInstalled(name, 'hello-synth'), true, 'no clean: the root is the one before');
  fails(await isomock([...opts(name, ['--short-circuit', 'bogus']), srpm('hello-synth')]), 5, /invalid choice/);
});

test("plugins: package_state's available_pkgs, expand_spec, chroot_scan; unsupported ones refused", async () => {
  const name = 'plugins';
  const r = await isomock([
    ...opts(name, [
      '--plugin-option',
      'package_state:available_pkgs=True',
      '--enable-plugin',
      'expand_spec',
      '--enable-plugin',
      'chroot_scan',
      '--plugin-option',
      'chroot_scan:write_tar=True',
    ]),
    srpm('fail-synth'),
  ]);
  assert.equal(r.code, 10, r.stderr);
  const dir = resultdir(name);
  const available = readFileSync(join(dir, 'available_pkgs.log'), 'utf8').trim().split('\n');
  assert.ok(
    available.some((l) => /^synth-data-0:1\.0-1\.w1\.noarch \S.* \d+ world-base$/.test(l)),
    available.join('\n'),
  );
  assert.deepEqual([...available].sort(), available);
  assert.match(readFileSync(join(dir, 'expanded-spec.txt'), 'utf8'), /^Name:\s+fail-synth$/m);
  // only_failed (the default): the failed build's logs, packed with their full path, as Mock's tar does.
  assert.equal(existsSync(join(dir, 'chroot_scan')), false);
  const members = spawnSync('tar', ['-tzf', join(dir, 'chroot_scan.tar.gz')], { encoding: 'utf8' }).stdout;
  const prefix = `${join(dir, 'chroot_scan', rootdir(name)).replace(/^\//, '')}/`;
  assert.ok(
    members.split('\n').some((m) => m.startsWith(prefix) && m.endsWith('.log')),
    `${prefix} in:\n${members}`,
  );

  for (const [extra, pattern] of [
    [['--enable-plugin', 'tmpfs'], /^isomock: error: plugin tmpfs .* is not supported by isomock$/],
    [['--enable-plugin', 'no_such'], /Bad option for '--enable-plugin=no_such'. Expecting one of: \[/],
    [['--plugin-option', 'bind_mount:dirs=[("/srv", "/srv")]'], /plugin bind_mount .* is not supported by isomock/],
  ] as const) {
    const res = await isomock([...opts(`${name}-refused`, [...extra]), srpm('hello-synth')]);
    fails(res, 5, pattern);
  }
  assert.equal(existsSync(join(scratch, `${name}-refused`)), false, 'refused before any work');
});

/** An SRPM, made with the host's rpmbuild, whose build needs the package hello-synth builds. */
function needsHelloSrpm(): string {
  const top = join(scratch, 'needs-hello');
  mkdirSync(join(top, 'SPECS'), { recursive: true });
  const spec = join(top, 'SPECS', 'needs-hello.spec');
  writeFileSync(
    spec,
    [
      'Name: needs-hello',
      'Version: 1.0',
      'Release: 1',
      'License: MIT',
      'Summary: Builds only with what hello-synth built',
      'BuildArch: noarch',
      'BuildRequires: hello-synth',
      '%description',
      'Needs hello-synth from the chain.',
      '%build',
      'cp /usr/share/hello-synth/hello.txt .',
      '%install',
      'install -D -m 0644 hello.txt %{buildroot}/usr/share/needs-hello/hello.txt',
      '%files',
      '/usr/share/needs-hello/hello.txt',
      '',
    ].join('\n'),
  );
  const r = spawnSync('rpmbuild', ['-bs', '--define', `_topdir ${top}`, spec], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return join(top, 'SRPMS', readdirSync(join(top, 'SRPMS'))[0]!);
}

test('--chain builds in order from its local repository; --recurse comes back to a failed one; success is kept', async () => {
  const name = 'chain';
  const localrepo = join(scratch, 'chain-repo');
  const needs = needsHelloSrpm();
  const chainOpts = opts(name).filter((o) => o !== '-q');
  // needs-hello first: it fails until hello-synth is in the local repository; --recurse retries it.
  const r = await isomock([...chainOpts, '--chain', '--localrepo', localrepo, '--recurse', needs, srpm('hello-synth')]);
  ok(r, '--chain --recurse');
  assert.match(r.stderr, /Trying to rebuild 1 failed pkgs, because --recurse is set\./);
  const repoDir = join(localrepo, 'results', rootName());
  for (const pdn of ['needs-hello-1.0-1', 'hello-synth-1.0-1.w1']) {
    assert.ok(existsSync(join(repoDir, pdn, 'success')), `${pdn}: ${readdirSync(repoDir).join(' ')}`);
  }
  assert.ok(readdirSync(join(repoDir, 'needs-hello-1.0-1')).some((f) => f === 'needs-hello-1.0-1.noarch.rpm'));
  assert.ok(existsSync(join(repoDir, 'repodata', 'repomd.xml')));
  // Again, without --continue: hello-synth is skipped (its success is there), fail-synth stops the chain.
  const again = await isomock([
    ...chainOpts,
    '--chain',
    '--localrepo',
    localrepo,
    srpm('hello-synth'),
    srpm('fail-synth'),
    needs,
  ]);
  assert.equal(again.code, 4, again.stderr);
  assert.match(again.stderr, /Skipping already built pkg hello-synth/);
  assert.match(again.stderr, /Stopping the --chain build because --continue isn't specified/);
  assert.ok(existsSync(join(repoDir, 'fail-synth-1.0-1.w1', 'fail')));
  fails(
    await isomock([...opts(name), '--localrepo', localrepo, srpm('hello-synth')]),
    5,
    /--localrepo option works only with --chain/,
  );
  fails(await isomock([...opts(name), '--chain']), 50, /You must specify an SRPM file with --chain/);
});
