/**
 * The guard of check-spawned.ts (issue 9): the recorder sees every kind of
 * spawn, the following of wrappers and `sh -c` scripts stops at a chroot,
 * owners are found under both merged-/usr spellings, and the check fails on
 * an undeclared package (the cpio case), on a missing command, and on a run
 * that recorded nothing. Real node processes, real dpkg database.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sandboxScript } from '../src/buildroot/sandbox.js';
import { packageOwners } from './helpers/debian-packages.js';
import { hostExecutables } from './helpers/host-commands.js';
import { repoRoot } from './helpers/paths.js';
import type { SpawnRecord } from './helpers/spawn-recorder.js';

const checker = join(repoRoot, 'dist', 'test', 'check-spawned.js');
const recorder = pathToFileURL(join(repoRoot, 'dist', 'test', 'helpers', 'spawn-recorder.js')).href;
const systemPath = '/usr/sbin:/usr/bin:/sbin:/bin';
let scratch: string;

before(() => {
  scratch = mkdtempSync('/tmp/isomock-spawncheck-test-');
});
after(() => rmSync(scratch, { recursive: true, force: true }));

const names = (argv: string[], path = systemPath): string[] =>
  hostExecutables(argv, { path, cwd: '/' }).found.map((f) => basename(f.path));

function check(args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [checker, ...args], { encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr };
}

function writeLog(name: string, records: Array<Partial<SpawnRecord>>): string {
  const file = join(scratch, name);
  const full = records.map((r) => ({
    args: [],
    cwd: '/',
    path: systemPath,
    callers: [],
    inherits: true,
    ...r,
  }));
  writeFileSync(file, full.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return file;
}

test('the recorder logs every child_process function, shell command lines and named ESM imports included', () => {
  const script = join(scratch, 'spawner.mjs');
  writeFileSync(
    script,
    [
      "import { execFileSync, execSync, spawnSync, execFile, spawn } from 'node:child_process';",
      "import { promisify } from 'node:util';",
      "spawnSync('true', ['a']);",
      "execFileSync('/bin/echo', ['b']);",
      "execSync('true c | cat');",
      "spawnSync('true d', { shell: true });",
      "await promisify(execFile)('true', ['e']);",
      "await new Promise((r) => spawn('true', ['f']).on('close', r));",
    ].join('\n'),
  );
  const log = join(scratch, 'recorded.jsonl');
  const r = spawnSync(process.execPath, [script], {
    env: { ...process.env, NODE_OPTIONS: `--import=${recorder}`, ISOMOCK_SPAWN_LOG: log },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const records = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as SpawnRecord);
  assert.deepEqual(
    records.map((x) => [x.file, ...x.args]),
    [
      ['true', 'a'],
      ['/bin/echo', 'b'],
      ['/bin/sh', '-c', 'true c | cat'],
      ['/bin/sh', '-c', 'true d'],
      ['true', 'e'],
      ['true', 'f'],
    ],
  );
  assert.ok(
    records.every((x) => x.callers[0]?.startsWith(`${script}:`) && x.inherits),
    JSON.stringify(records[0]),
  );
});

test("isomock's sandbox script: the host tools before chroot are followed, the command inside the root is not", () => {
  const script = sandboxScript({
    argv: ['/usr/bin/rpmbuild', '-ba', 'x.spec'],
    chroot: '/nonexistent-root',
    systemTrees: ['/nonexistent-root'],
    binds: [{ source: '/etc/hosts', target: '/nonexistent-root/etc/hosts' }],
    network: false,
    hostname: 'h',
    user: { uid: 1000, gid: 1000 },
    cwd: '/builddir',
    env: { PATH: '/usr/bin' },
  });
  const argv = ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--', '/usr/bin/unshare', '--mount', '--propagation'];
  const found = names([...argv, 'private', '--fork', '/bin/sh', '-c', script]);
  for (const tool of ['setpriv', 'unshare', 'sh', 'mkdir', 'mount', 'cp', 'ln', 'ip', 'hostname', 'chroot']) {
    assert.ok(found.includes(tool), `${tool} in ${found.join(' ')}`);
  }
  assert.ok(!found.includes('rpmbuild'), 'rpmbuild runs inside the root');
  // The same command without a chroot (host dnf) is a host executable.
  assert.ok(
    names(['/bin/sh', '-c', sandboxScript({ argv: ['rpmbuild'], systemTrees: [], network: true, env: {} })]).includes(
      'rpmbuild',
    ),
  );
});

test('wrappers and scripts: flock -c, env PATH=, exec "$@" after shift, a script\'s interpreter', () => {
  assert.deepEqual(names(['flock', '/tmp/l', 'sh', '-c', 'echo locked; exec cat >/dev/null']), ['flock', 'sh', 'cat']);
  assert.deepEqual(names(['flock', '-x', '/tmp/l', '-c', 'zstd -d | tar -x']), ['flock', 'zstd', 'tar']);
  const shifted = ['sh', '-c', 'u="$1"; shift; mount "$0" && exec "$@"', '/r', 'u', 'cpio', '-i'];
  assert.deepEqual(names(['unshare', '-m', '--', ...shifted]), ['unshare', 'sh', 'mount', 'cpio']);
  assert.deepEqual(names(['env', '-i', 'PATH=/usr/sbin', 'ip', 'a']), ['env', 'ip']);
  assert.deepEqual(names(['script', '-qec', 'true | gzip', '/dev/null']), ['script', 'gzip']);
  // bin/isomock is `#!/usr/bin/env node`: env, then node through PATH.
  assert.deepEqual(names([join(repoRoot, 'bin', 'isomock'), '--help']), ['isomock', 'env', 'node']);
  const followed = hostExecutables(['no-such-tool-here'], { path: systemPath, cwd: '/' });
  assert.equal(followed.unfollowed[0]?.missing, true);
});

test('owners under both merged-/usr spellings and through symlinks', () => {
  const owners = packageOwners(['/bin/sh', '/usr/bin/sh', '/usr/bin/mount', '/bin/mount', '/usr/bin/awk']);
  assert.deepEqual(owners.get('/bin/sh'), ['dash']);
  assert.deepEqual(owners.get('/usr/bin/sh'), ['dash']);
  assert.deepEqual(owners.get('/usr/bin/mount'), ['mount']);
  assert.deepEqual(owners.get('/bin/mount'), ['mount']);
  // awk is an alternatives link: the package of the file it leads to.
  const real = realpathSync('/usr/bin/awk');
  assert.deepEqual(owners.get('/usr/bin/awk'), packageOwners([real]).get(real));
});

/** system-packages.txt as it is, without cpio (the package a fresh machine lacked). */
function listWithoutCpio(): string {
  const list = join(scratch, 'system-packages.txt');
  const declared = readFileSync(join(repoRoot, 'scripts', 'system-packages.txt'), 'utf8');
  assert.match(declared, /^cpio$/m);
  writeFileSync(list, declared.replace(/^cpio$/m, ''));
  return list;
}

test('cpio from a package not in system-packages.txt fails, naming the executable, its caller and the package', () => {
  const log = writeLog('cpio.jsonl', [
    {
      file: 'sh',
      args: ['-c', 'rpm2cpio "$0" | cpio -idm --quiet', 'x.src.rpm'],
      callers: ['/somewhere/unpack.js:7:3'],
    },
  ]);
  const without = check(['--no-static', '--packages', listWithoutCpio(), '--log', log]);
  assert.equal(without.code, 1, without.stderr);
  assert.match(
    without.stderr,
    /^check-spawned: \/usr\/bin\/cpio is in Debian package cpio, neither in .* nor Essential: add cpio \(spawned by .*unpack\.js:7 via sh\)$/m,
  );
  assert.equal(without.stderr.trim().split('\n').length, 1, without.stderr);
  const withIt = check(['--no-static', '--log', log]);
  assert.equal(withIt.code, 0, withIt.stderr);
  assert.match(withIt.stderr, /^check-spawned: 1 spawns and 0 literal spawns in the source run 3 host executables/);
});

test("the scan of the source finds modes.test's cpio though the run never spawned it", () => {
  const log = writeLog('true.jsonl', [{ file: 'true' }]);
  const r = check(['--packages', listWithoutCpio(), '--log', log]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^check-spawned: \/usr\/bin\/cpio .* add cpio \(spawned by test\/modes\.test\.ts:\d+ via sh\)$/m,
  );
});

test('a command found on no PATH fails; a run that recorded nothing fails', () => {
  const missing = check(['--no-static', '--log', writeLog('missing.jsonl', [{ file: 'isomock-no-such-tool' }])]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^check-spawned: isomock-no-such-tool \(not found on PATH=/m);
  const nothing = check(['--no-static', process.execPath, '-e', '']);
  assert.equal(nothing.code, 1);
  assert.match(nothing.stderr, /^check-spawned: no spawn was recorded/m);
  const something = check([
    '--no-static',
    process.execPath,
    '-e',
    "require('node:child_process').execFileSync('true')",
  ]);
  assert.equal(something.code, 0, something.stderr);
  assert.match(something.stderr, /^check-spawned: 1 spawns /);
});

test('a node process of another user (the tests run isolated-repo as nobody) is recorded too', () => {
  const spawner = "require('node:child_process').execFileSync('true')";
  const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', spawner];
  const r = check(['--no-static', ...asNobody]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^check-spawned: 1 spawns /);
});
