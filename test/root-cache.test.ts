/**
 * Mock's root_cache plugin through ./bin/isomock on the demo world (host
 * dnf): a fresh buildroot is packed into cache_topdir/ROOT/root_cache/
 * cache.tar.gz, the next fresh one is unpacked from it (the step log says
 * so, and root.log shows no install; --additional-package is not in it), a
 * config newer than the cache makes it again, --scrub=root-cache removes
 * the cache and nothing else, a cache
 * file isomock did not make as root's own is ignored, a crafted tarball
 * writes nothing outside the root, and an isolated build neither reads nor
 * makes a cache.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { scratchOpts, serveWorld, type ServedWorld } from './helpers/world.js';
import { isomock, type CliResult } from './helpers/isomock.js';

let world: ServedWorld;
let scratch: string;

/** A chroot config of the test's own (its mtime is the test's to change), over the world's. */
const root = 'world-rootcache';
const configFile = (): string => join(world.configDir, `${root}.cfg`);

before(async () => {
  world = await serveWorld();
  scratch = mkdtempSync('/tmp/isomock-root-cache-test-');
  writeFileSync(configFile(), `include('world-1-x86_64.cfg')\nconfig_opts['root'] = '${root}'\n`);
  // Made before any cache, so it is never newer than one unless a test says so.
  const past = Date.now() / 1000 - 3600;
  utimesSync(configFile(), past, past);
});
after(async () => {
  await world?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const opts = (name: string, extra: string[] = []): string[] => [
  '--configdir',
  world.configDir,
  '-r',
  root,
  ...scratchOpts(join(scratch, name), 'result'),
  '-q',
  ...extra,
];
const cacheDir = (name: string): string => join(scratch, name, 'cache', root, 'root_cache');
const cacheFile = (name: string): string => join(cacheDir(name), 'cache.tar.gz');
const rootdir = (name: string): string => join(scratch, name, 'lib', root, 'root');
const log = (name: string, file: string): string => readFileSync(join(scratch, name, 'result', file), 'utf8');
const srpm = (name: string): string =>
  join(world.world.dir, world.world.manifest.srpms.find((s) => s.name === name)!.file);

function ok(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
}

/** Whether this run's state.log has the step, and its root.log ran the minimal install. */
function steps(name: string): { unpacked: boolean; created: boolean; installed: boolean } {
  const state = log(name, 'state.log');
  return {
    unpacked: state.includes('Start: unpacking root cache'),
    created: state.includes('Start: creating root cache'),
    installed: state.includes('Start: installing minimal buildroot') || /"install","@/.test(log(name, 'root.log')),
  };
}

function assertCacheIsRootsOwn(name: string): void {
  const dir = lstatSync(cacheDir(name));
  assert.ok(dir.isDirectory() && dir.uid === 0 && (dir.mode & 0o777) === 0o700, 'the cache dir is root-only');
  const file = lstatSync(cacheFile(name));
  assert.ok(file.isFile() && file.uid === 0 && (file.mode & 0o022) === 0, 'the cache is a root-owned regular file');
  assert.deepEqual(
    readdirSync(cacheDir(name)).filter((f) => f.endsWith('.tmp')),
    [],
    'no temporary file is left',
  );
}

test('a fresh root writes the cache; the next fresh root is unpacked from it, not installed', async () => {
  const name = 'reuse';
  ok(await isomock([...opts(name), '--additional-package', 'synth-app', '--rebuild', srpm('hello-synth')]), 'first');
  assert.deepEqual(steps(name), { unpacked: false, created: true, installed: true });
  assert.match(log(name, 'installed_pkgs.log'), /^synth-app-/m);
  assertCacheIsRootsOwn(name);
  // Mock's excludes: no /proc, /dev or the package cache in the tarball.
  const members = spawnSync('tar', ['-tzf', cacheFile(name)], { encoding: 'utf8' }).stdout.split('\n');
  assert.ok(members.includes('./.initialized') && members.includes('./usr/bin/bash'), 'the tarball is the root');
  assert.ok(!members.some((m) => /^\.\/(proc|dev|sys|var\/cache\/dnf|var\/log)\/./.test(m)), 'excludes applied');
  assert.ok(existsSync(join(cacheDir(name), 'cache.log')));
  const made = statSync(cacheFile(name)).mtimeMs;

  rmSync(join(scratch, name, 'result'), { recursive: true });
  ok(await isomock([...opts(name), '--rebuild', srpm('hello-synth')]), 'second build');
  assert.deepEqual(steps(name), { unpacked: true, created: false, installed: false });
  // As Mock: an online build updates a root it did not install (nothing to update here).
  assert.match(log(name, 'state.log'), /Start: dnf4? update/);
  assert.ok(
    readdirSync(join(scratch, name, 'result')).some((f) => f.endsWith('.x86_64.rpm')),
    'it built',
  );
  assert.equal(statSync(cacheFile(name)).mtimeMs, made, 'the cache is not made again');
  // As Mock, --additional-package is installed with the build's deps, after the cache was made: never in it.
  assert.doesNotMatch(log(name, 'installed_pkgs.log'), /^synth-app-/m);

  // A config newer than the cache: Mock's message, the root installed and the cache made again.
  rmSync(join(scratch, name, 'result'), { recursive: true });
  const future = Date.now() / 1000 + 600;
  utimesSync(configFile(), future, future);
  try {
    ok(await isomock([...opts(name), '--init']), 'init with a newer config');
  } finally {
    const past = Date.now() / 1000 - 3600;
    utimesSync(configFile(), past, past);
  }
  assert.match(log(name, 'root.log'), /INFO: .*world-rootcache\.cfg newer than root cache; cache will be rebuilt/);
  assert.deepEqual(steps(name), { unpacked: false, created: true, installed: true });
  assert.ok(statSync(cacheFile(name)).mtimeMs > made);

  // --scrub=root-cache: the cache goes, the chroot and the package cache stay.
  ok(await isomock([...opts(name), '--scrub=root-cache']), 'scrub');
  assert.ok(!existsSync(cacheDir(name)));
  assert.ok(existsSync(join(rootdir(name), '.initialized')), 'the chroot is kept');
  assert.ok(existsSync(join(scratch, name, 'cache', root, 'dnf_cache')), 'the package cache is kept');
});

test('a cache file that is a link, writable by others or not root-owned is ignored in one line, then replaced', async () => {
  const name = 'planted';
  ok(await isomock([...opts(name), '--init']), 'init');
  assertCacheIsRootsOwn(name);
  const elsewhere = join(scratch, 'elsewhere.tar.gz');
  const plant: [string, (f: string) => void][] = [
    [
      'a symbolic link',
      (f) => {
        renameSync(f, elsewhere);
        symlinkSync(elsewhere, f);
      },
    ],
    ['writable by others than its owner', (f) => chmodSync(f, 0o666)],
    ['owned by uid 65534', (f) => chownSync(f, 65534, 65534)],
  ];
  for (const [why, change] of plant) {
    change(cacheFile(name));
    rmSync(join(scratch, name, 'result'), { recursive: true });
    const r = await isomock([...opts(name), '--init']);
    ok(r, why);
    const line = `WARNING: root cache ${cacheFile(name)} is ${why}: ignored, it is made again`;
    assert.equal(r.stderr, `${line}\n`, 'one line on the console, even with -q');
    assert.equal(
      log(name, 'root.log')
        .split('\n')
        .filter((l) => l === line).length,
      1,
    );
    assert.deepEqual(steps(name), { unpacked: false, created: true, installed: true });
    assertCacheIsRootsOwn(name);
  }
  assert.ok(lstatSync(elsewhere).isFile(), "the link's target is left alone");
});

test('a crafted cache writes nothing outside the root: links, absolute names, .. are refused', async () => {
  const name = 'crafted';
  const outside = join(scratch, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'target'), 'kept\n');
  mkdirSync(cacheDir(name), { recursive: true, mode: 0o700 });
  // Python's tarfile writes the members a packer never would (test-world-notes: python3 is an oracle here).
  const script = `
import io, sys, tarfile
out, outside = sys.argv[1], sys.argv[2]
def add(t, name, typ=tarfile.REGTYPE, link=''):
    i = tarfile.TarInfo(name); i.type = typ; i.linkname = link; data = b'planted\\n'
    if typ == tarfile.REGTYPE:
        i.size = len(data); t.addfile(i, io.BytesIO(data))
    else:
        t.addfile(i)
with tarfile.open(out, 'w:gz', format=tarfile.GNU_FORMAT) as t:
    add(t, './.initialized')
    add(t, './abs', tarfile.SYMTYPE, outside)
    add(t, './abs/via-absolute-link')
    add(t, './up', tarfile.SYMTYPE, '../../../../../../../../..' + outside)
    add(t, './up/via-dotdot-link')
    add(t, './usr', tarfile.SYMTYPE, '..')
    add(t, './inner', tarfile.SYMTYPE, 'usr')
    add(t, './inner/via-chained-link')
    add(t, outside + '/absolute-name')
    add(t, '../../../../../../../../..' + outside + '/dotdot-name')
    add(t, './hard', tarfile.LNKTYPE, '../../../../../../../../..' + outside + '/target')
`;
  const made = spawnSync('python3', ['-c', script, cacheFile(name), outside], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  chmodSync(cacheFile(name), 0o644);
  const r = await isomock([...opts(name), '--init']);
  assert.equal(r.code, 20, r.stderr);
  assert.match(
    r.stderr,
    /^isomock: error: cannot unpack root cache .*cache\.tar\.gz \(tar exit 2\): tar: .*Cannot open: Not a directory.*; --scrub=root-cache removes it\n$/,
  );
  assert.deepEqual(readdirSync(outside), ['target'], 'nothing was written outside the root');
  assert.equal(readFileSync(join(outside, 'target'), 'utf8'), 'kept\n');
  assert.equal(lstatSync(join(outside, 'target')).nlink, 1, 'no hard link to it was made');
  assert.ok(!existsSync(rootdir(name)), 'the half-unpacked root is removed, its .initialized with it');
});

test('an isolated build neither unpacks nor makes a root cache, even with the plugin enabled', async () => {
  const name = 'isolated';
  const calc = await isomock([...opts(name), '--calculate-build-dependencies', srpm('hello-synth')]);
  ok(calc, 'calculate');
  const lockfile = join(scratch, name, 'result', 'buildroot_lock.json');
  const repo = join(scratch, name, 'repo');
  ok(await isomock(['isolated-repo', '-q', '--lockfile', lockfile, '--output-repo', repo]), 'isolated-repo');
  // A cache where the isolated build's root would find one, holding a file no locked package has.
  const isoCache = join(scratch, name, 'cache', 'isolated-build', 'root_cache');
  mkdirSync(isoCache, { recursive: true, mode: 0o700 });
  const tree = join(scratch, name, 'poison');
  mkdirSync(tree);
  writeFileSync(join(tree, 'POISON'), 'from an online root\n');
  writeFileSync(join(tree, '.initialized'), '');
  assert.equal(spawnSync('tar', ['-czf', join(isoCache, 'cache.tar.gz'), '-C', tree, '.']).status, 0);
  const before = statSync(join(isoCache, 'cache.tar.gz')).mtimeMs;
  const iso = await isomock([
    '--isolated-build',
    lockfile,
    repo,
    ...scratchOpts(join(scratch, name), 'iso'),
    '-q',
    '-N',
    '--enable-plugin=root_cache',
    srpm('hello-synth'),
  ]);
  ok(iso, 'isolated build');
  const isoLog = (f: string): string => readFileSync(join(scratch, name, 'iso', f), 'utf8');
  assert.match(isoLog('root.log'), /root_cache: not used for a locked buildroot/);
  assert.doesNotMatch(isoLog('state.log'), /root cache/);
  assert.ok(!existsSync(join(scratch, name, 'lib', 'isolated-build', 'root', 'POISON')));
  assert.ok(existsSync(join(scratch, name, 'lib', 'isolated-build', 'root', '.initialized')));
  assert.equal(statSync(join(isoCache, 'cache.tar.gz')).mtimeMs, before, 'no cache made');
});
