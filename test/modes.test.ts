/**
 * The buildroot modes (--init, --clean, --scrub, --shell, --chroot,
 * --installdeps, --install, --update, --offline) through ./bin/isomock on the demo
 * world, in host-dnf mode (use_bootstrap = False, as the world's configs
 * say). The host's rpm reading the buildroot's database is the oracle.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { serveWorld, type ServedWorld } from './helpers/world.js';
import { isomockMounts } from './helpers/mounts.js';
import { isomock, isomockBin, type CliResult } from './helpers/isomock.js';

let world: ServedWorld;
let scratch: string;

before(async () => {
  world = await serveWorld();
  scratch = mkdtempSync('/tmp/isomock-modes-test-');
});
after(async () => {
  await world?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const rootName = (): string => `world-${world.world.manifest.releasever}-${world.world.manifest.arch}`;

/** Each test its own basedir and cache, so the tests (and test files) do not share a root. */
function opts(name: string): string[] {
  return [
    '--configdir',
    world.configDir,
    '-r',
    rootName(),
    '--config-opts',
    `basedir=${join(scratch, name, 'lib')}`,
    '--config-opts',
    `cache_topdir=${join(scratch, name, 'cache')}`,
    '-q',
  ];
}
const rootdir = (name: string): string => join(scratch, name, 'lib', rootName(), 'root');
const resultdir = (name: string): string => join(scratch, name, 'lib', rootName(), 'result');

function ok(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
}

/** Installed package names (or the missing ones reported), read by the host's rpm: an oracle outside isomock. */
function rpmQuery(name: string, packages: string[]): { installed: boolean; out: string } {
  const r = spawnSync(
    'rpm',
    ['--root', rootdir(name), '--dbpath', world.world.manifest.dbpath, '-q', '--qf', '%{NAME}\\n', ...packages],
    {
      encoding: 'utf8',
    },
  );
  return { installed: r.status === 0, out: r.stdout };
}

const worldFile = (rel: string): string => join(world.world.dir, rel);
const srpm = (name: string): string => worldFile(world.world.manifest.srpms.find((s) => s.name === name)!.file);
const packageFile = (name: string): string =>
  worldFile(world.world.manifest.packages.find((p) => p.name === name)!.file);

test('--init makes the buildroot; --shell and --chroot run in it as Mock runs them', async () => {
  assert.deepEqual(isomockMounts(scratch), []);
  ok(await isomock([...opts('run'), '--init']), '--init');
  const buildsys = world.world.manifest.packages.filter((p) => p.buildsys).map((p) => p.name);
  assert.ok(rpmQuery('run', buildsys).installed, 'chroot_setup_cmd installed the buildsys group');
  assert.match(readFileSync(join(resultdir('run'), 'root.log'), 'utf8'), /INFO: Installed packages:\n/);
  assert.match(readFileSync(join(resultdir('run'), 'state.log'), 'utf8'), /Finish: chroot init/);
  const user = readFileSync(join(rootdir('run'), 'etc/passwd'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('mockbuild:'));
  assert.ok(user, 'the build user exists');
  const uid = Number(user.split(':')[2]);
  assert.notEqual(uid, 0);
  assert.equal(statSync(join(rootdir('run'), 'builddir')).uid, uid);

  // --shell: root, in the build user's home, words joined for the buildroot's /bin/sh; exit code passed on.
  const sh = await isomock([...opts('run'), '--shell', 'id -u; pwd; echo shell-marker-$((40+2))']);
  assert.deepEqual([sh.code, sh.stdout], [0, '0\n/builddir\nshell-marker-42\n'], sh.stderr);
  const unpriv = await isomock([...opts('run'), '--shell', '--unpriv', '--', 'id -un', '&&', 'exit 7']);
  assert.deepEqual([unpriv.code, unpriv.stdout], [7, 'mockbuild\n'], unpriv.stderr);
  const piped = await isomock([...opts('run'), '--shell'], { input: 'echo piped-$((2*3))\nexit 3\n' });
  assert.deepEqual([piped.code, piped.stdout], [3, 'piped-6\n'], piped.stderr);

  // --chroot: one word goes through the buildroot's shell, several are executed as they are.
  const literal = await isomock([...opts('run'), '--chroot', '--', 'echo', '/builddir/.rpm*']);
  assert.deepEqual([literal.code, literal.stdout], [0, '/builddir/.rpm*\n'], literal.stderr);
  const expanded = await isomock([...opts('run'), '--chroot', 'echo /builddir/.rpm*; echo chroot-marker-$((40+2))']);
  assert.deepEqual([expanded.code, expanded.stdout], [0, '/builddir/.rpmmacros\nchroot-marker-42\n'], expanded.stderr);
  const asUser = await isomock([
    ...opts('run'),
    '--chroot',
    '--unpriv',
    '--cwd',
    '/tmp',
    '--',
    'sh',
    '-c',
    'id -u; pwd; exit 4',
  ]);
  assert.deepEqual([asUser.code, asUser.stdout], [4, `${uid}\n/tmp\n`], asUser.stderr);
  // The network is cut as for rpmbuild: only the loopback interface.
  const net = await isomock([...opts('run'), '--chroot', 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "']);
  assert.deepEqual([net.code, net.stdout], [0, 'lo\n'], net.stderr);

  // --chroot is logged to root.log; --shell, as in Mock, is not.
  const rootLog = readFileSync(join(resultdir('run'), 'root.log'), 'utf8');
  assert.match(rootLog, /chroot-marker-42/);
  assert.doesNotMatch(rootLog, /shell-marker-42/);

  const noCommand = await isomock([...opts('run'), '--chroot']);
  assert.equal(noCommand.code, 50);
  assert.match(noCommand.stderr, /^isomock: error: You must specify a command to run with --chroot\n$/);
  assert.deepEqual(isomockMounts(scratch), [], 'no mount left behind');
});

test("--shell without a command on a terminal is an interactive shell with Mock's prompt", async () => {
  ok(await isomock([...opts('tty'), '--init']), '--init');
  // script(1) gives isomock a real terminal; the shell reads the typed lines from it.
  const command = [isomockBin, ...opts('tty'), '--shell'].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], {
    input: 'echo typed-$((6*7))\nexit 5\n',
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 5, r.stderr);
  assert.match(r.stdout, /<mock-chroot> /);
  assert.match(r.stdout, /typed-42/);
});

test('--install takes names and local RPM files; --installdeps an SRPM or a spec file', async () => {
  // No --init first: the buildroot is initialized on first use, as Mock does.
  const local = join(scratch, 'synth-epoch.rpm');
  copyFileSync(packageFile('synth-epoch'), local);
  ok(await isomock([...opts('pkgs'), '--install', 'synth-app', local]), '--install');
  assert.deepEqual(rpmQuery('pkgs', ['synth-app', 'synth-epoch']), {
    installed: true,
    out: 'synth-app\nsynth-epoch\n',
  });
  assert.match(
    readFileSync(join(resultdir('pkgs'), 'root.log'), 'utf8'),
    /INFO: installing package\(s\): synth-app \/.*synth-epoch\.rpm/,
  );

  const missing = await isomock([...opts('pkgs'), '--install', 'synth-no-such-package']);
  assert.equal(missing.code, 30, missing.stderr);
  assert.equal((await isomock([...opts('pkgs'), '--install'])).code, 50);

  // hello-synth BuildRequires synth-devel, synth-lib >= 2.0, synth-mta and /usr/bin/synth-tool.
  assert.equal(rpmQuery('pkgs', ['synth-devel']).installed, false);
  ok(await isomock([...opts('pkgs'), '--installdeps', srpm('hello-synth')]), '--installdeps SRPM');
  assert.ok(rpmQuery('pkgs', ['synth-devel', 'synth-tool']).installed);

  const specDir = join(scratch, 'spec');
  mkdirSync(specDir, { recursive: true });
  execFileSync('sh', ['-c', `rpm2cpio "$0" | cpio -idm --quiet`, srpm('hello-synth')], { cwd: specDir });
  ok(await isomock([...opts('spec'), '--installdeps', join(specDir, 'hello-synth.spec')]), '--installdeps spec');
  assert.ok(rpmQuery('spec', ['synth-devel', 'synth-tool']).installed);

  const notRpm = await isomock([...opts('pkgs'), '--installdeps', join(specDir, 'hello-synth.spec'), '/etc/passwd']);
  assert.equal(notRpm.code, 5);
  assert.match(notRpm.stderr, /\/etc\/passwd: not an RPM file/);
  assert.equal((await isomock([...opts('pkgs'), '--installdeps', join(scratch, 'absent.src.rpm')])).code, 5);
  assert.equal((await isomock([...opts('pkgs'), '--installdeps'])).code, 50);
});

test('--clean and --scrub remove what Mock removes, never through a mount', async () => {
  const base = join(scratch, 'clean', 'lib', rootName());
  const cache = join(scratch, 'clean', 'cache', rootName());
  ok(await isomock([...opts('clean'), '--init']), '--init');
  writeFileSync(join(rootdir('clean'), 'tmp/keep'), 'x');
  ok(await isomock([...opts('clean'), '--init', '--no-clean']), '--init --no-clean');
  assert.ok(existsSync(join(rootdir('clean'), 'tmp/keep')), '--no-clean keeps the buildroot');
  ok(await isomock([...opts('clean'), '--init']), '--init');
  assert.ok(!existsSync(join(rootdir('clean'), 'tmp/keep')), '--init cleans first');

  // A bind of host data inside the root (made in a private mount namespace, which isomock runs in).
  const precious = join(scratch, 'precious');
  mkdirSync(precious, { recursive: true });
  writeFileSync(join(precious, 'data'), 'host data');
  const target = join(rootdir('clean'), 'mnt/precious');
  mkdirSync(target, { recursive: true });
  const mounted = spawnSync(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount --bind "$0" "$1" && shift && exec "$@"',
      precious,
      target,
      isomockBin,
      ...opts('clean'),
      '--clean',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(mounted.status, 20, mounted.stderr);
  assert.match(mounted.stderr, /refusing to delete .* still mounted below it: .*mnt\/precious/);
  assert.equal(readFileSync(join(precious, 'data'), 'utf8'), 'host data');

  ok(await isomock([...opts('clean'), '--clean']), '--clean');
  assert.ok(!existsSync(base), 'basedir/root is gone');
  assert.ok(existsSync(join(cache, 'dnf_cache')), '--clean keeps the package cache');

  ok(await isomock([...opts('clean'), '--init']), '--init');
  ok(await isomock([...opts('clean'), '--scrub=dnf-cache']), '--scrub=dnf-cache');
  assert.ok(!existsSync(join(cache, 'dnf_cache')) && existsSync(rootdir('clean')));
  mkdirSync(join(cache, 'root_cache'), { recursive: true });
  ok(await isomock([...opts('clean'), '--scrub=root-cache', '--scrub', 'chroot']), '--scrub twice');
  assert.ok(!existsSync(join(cache, 'root_cache')) && !existsSync(base));
  ok(await isomock([...opts('clean'), '--init']), '--init');
  // The store is every root's: this one is the test's own.
  const store = { env: { ISOMOCK_STORE: join(scratch, 'clean', 'store') } };
  mkdirSync(join(store.env.ISOMOCK_STORE, 'sha256'), { recursive: true, mode: 0o700 });
  ok(await isomock([...opts('clean'), '--scrub=store'], store), '--scrub=store');
  assert.ok(
    !existsSync(store.env.ISOMOCK_STORE) && existsSync(rootdir('clean')),
    '--scrub=store removes the store alone',
  );
  mkdirSync(join(store.env.ISOMOCK_STORE, 'sha256'), { recursive: true, mode: 0o700 });
  ok(await isomock([...opts('clean'), '--scrub=all'], store), '--scrub=all');
  assert.ok(!existsSync(base) && !existsSync(cache) && !existsSync(store.env.ISOMOCK_STORE));

  const bad = await isomock([...opts('clean'), '--scrub=everything']);
  assert.equal(bad.code, 5);
  assert.match(bad.stderr, /--scrub: unknown type 'everything'/);
});

test('--offline installs from the package cache alone', async () => {
  // Without the root cache, which would restore the root instead of installing it from the package cache.
  const offline = (): string[] => [...opts('offline'), '--disable-plugin=root_cache'];
  ok(await isomock([...offline(), '--init']), '--init');
  ok(await isomock([...offline(), '--install', 'synth-app']), '--install online');
  ok(await isomock([...offline(), '--scrub=chroot']), '--scrub=chroot');
  // The package manager runs with the network cut and -C: only cached metadata and packages.
  ok(await isomock([...offline(), '--offline', '--init']), '--offline --init');
  ok(await isomock([...offline(), '--offline', '--install', 'synth-app']), '--offline --install cached');
  assert.ok(rpmQuery('offline', ['synth-app']).installed);
  const uncached = await isomock([...offline(), '--offline', '--install', 'synth-rich']);
  assert.equal(uncached.code, 30, uncached.stderr);
  ok(await isomock([...offline(), '--scrub=dnf-cache', '--scrub=chroot']), '--scrub');
  assert.equal((await isomock([...offline(), '--offline', '--init'])).code, 30);
});

test('every mode takes the root lock', async () => {
  const lockPath = join(scratch, 'locked', 'lib', `${rootName()}.lock`);
  mkdirSync(join(scratch, 'locked', 'lib'), { recursive: true });
  // Another process holds the lock (a flock, as isomock takes it) until the test ends.
  const holder = spawn('flock', ['-o', lockPath, 'cat'], { stdio: ['pipe', 'ignore', 'ignore'] });
  for (let i = 0; i < 100 && spawnSync('flock', ['-n', lockPath, 'true']).status === 0; i++)
    await new Promise((r) => setTimeout(r, 50));
  try {
    for (const mode of [
      ['--init'],
      ['--clean'],
      ['--scrub=all'],
      ['--shell', 'true'],
      ['--chroot', 'true'],
      ['--install', 'synth-app'],
    ]) {
      const r = await isomock([...opts('locked'), ...mode]);
      assert.equal(r.code, 60, `${mode.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /in use by another isomock/);
    }
    assert.ok(!existsSync(rootdir('locked')), 'nothing was done');
  } finally {
    holder.stdin.end(); // cat ends, and flock with it
    await new Promise((r) => holder.once('close', r));
  }
  ok(await isomock([...opts('locked'), '--clean']), '--clean once the lock is free');
});

test('--update brings a package installed from base up to the updates repo', async () => {
  const version = (): string =>
    spawnSync(
      'rpm',
      ['--root', rootdir('update'), '--dbpath', world.world.manifest.dbpath, '-q', '--qf', '%{VERSION}', 'synth-tool'],
      { encoding: 'utf8' },
    ).stdout;
  ok(await isomock([...opts('update'), '--disablerepo', 'world-updates', '--install', 'synth-tool']), '--install');
  assert.equal(version(), '1.0');
  ok(await isomock([...opts('update'), '--update', 'synth-tool']), '--update');
  assert.equal(version(), '1.1');
});
