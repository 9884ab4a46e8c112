/**
 * Processes, namespaces, signals, locks and environmental failures against a
 * hostile caller, SRPM or co-user (issue 9, cases 4, 5 and 6, the signal,
 * lock and error-mapping points), black-box through bin/isomock on the demo
 * world: real rpmbuild, real signals, real namespaces, a real tmpfs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { scratchOpts, serveWorld, worldBuildOpts, type ServedWorld } from './helpers/world.js';
import { isomock, isomockBin, type CliResult } from './helpers/isomock.js';
import { isomockMounts } from './helpers/mounts.js';

let world: ServedWorld;
let scratch: string;
let sleeper: string;

/** A hostile SRPM: %build says so on stdout, then sleeps far longer than any test. */
const sleeperSpec = `
Name: sleeper
Version: 1
Release: 1
Summary: sleeps in %build
License: MIT
BuildArch: noarch
%description
Sleeps.
%build
echo ISOMOCK-TEST-SLEEPING
sleep 600
%files
`;

before(async () => {
  world = await serveWorld();
  scratch = mkdtempSync('/tmp/isomock-hostile-process-');
  const top = join(scratch, 'rpmbuild');
  mkdirSync(join(top, 'SPECS'), { recursive: true });
  writeFileSync(join(top, 'SPECS', 'sleeper.spec'), sleeperSpec);
  execFileSync('rpmbuild', ['-bs', '--define', `_topdir ${top}`, join(top, 'SPECS', 'sleeper.spec')], {
    stdio: 'ignore',
  });
  sleeper = join(top, 'SRPMS', 'sleeper-1-1.src.rpm');
});

after(async () => {
  // Whatever a failing (old) build left running in our buildroots goes, so the machine stays clean.
  for (const pid of buildProcesses()) spawnSync('kill', ['-KILL', String(pid)]);
  await world?.close();
  for (const m of isomockMounts(scratch)) spawnSync('umount', ['-l', m.split(' ')[4]!]);
  if (scratch && isomockMounts(scratch).length === 0) rmSync(scratch, { recursive: true, force: true });
});

const opts = (name: string, extra: string[] = []): string[] => worldBuildOpts(world, scratch, name, extra);

const srpm = (name: string): string =>
  join(world.world.dir, world.world.manifest.srpms.find((s) => s.name === name)!.file);

/** Host PIDs of every process of our builds: chrooted into a root under scratch, or naming it in argv. */
function buildProcesses(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const root = readlinkSync(`/proc/${entry}/root`);
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (root.startsWith(scratch) || argv.includes(join(scratch, 'lib'))) found.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

async function noBuildProcesses(what: string): Promise<void> {
  // The kernel tears a PID namespace down asynchronously: give it a moment.
  for (let i = 0; i < 50 && buildProcesses().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  const left = buildProcesses().map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '));
  assert.deepEqual(left, [], `processes of the build still alive after ${what}`);
}

/** The failure is one line, no stack trace. */
function oneLine(r: CliResult, pattern: RegExp): void {
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `a stack trace:\n${r.stderr}`);
  assert.match(lines.at(-1) ?? '', pattern, r.stderr);
  assert.equal(lines.filter((l) => l.startsWith('isomock: error:')).length, 1, r.stderr);
}

/** Starts isomock, signals it once stderr matches, then sends `then` signals `thenDelayMs` apart. */
function signalled(
  args: string[],
  sig: NodeJS.Signals,
  on: RegExp,
  then: NodeJS.Signals[] = [],
): Promise<CliResult & { afterSignalMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(isomockBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sentAt = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sentAt && on.test(stderr)) {
        sentAt = Date.now();
        child.kill(sig);
        for (const s of then) child.kill(s);
      }
    });
    child.on('error', reject);
    child.on('close', (code, s) =>
      resolve({
        code: code ?? 128 + (s === 'SIGKILL' ? 9 : s === 'SIGTERM' ? 15 : 2),
        stdout,
        stderr,
        afterSignalMs: Date.now() - sentAt,
      }),
    );
  });
}

const sleeping = /ISOMOCK-TEST-SLEEPING/;
const exitFor: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGKILL: 137 };

test('case 5: a signal during %build leaves no process and no mount of the build; the next build proceeds', async () => {
  for (const sig of ['SIGKILL', 'SIGTERM', 'SIGINT'] as const) {
    const r = await signalled(opts(`sleep-${sig}`, ['--verbose', sleeper]), sig, sleeping);
    assert.equal(r.code, exitFor[sig], `${sig}: ${r.stderr.slice(-2000)}`);
    await noBuildProcesses(sig);
    assert.deepEqual(isomockMounts(scratch), [], `mounts after ${sig}`);
  }
  const next = await isomock([...opts('after-signals'), '-q', srpm('hello-synth')]);
  assert.equal(next.code, 0, next.stderr);
});

test('the first SIGTERM/SIGINT ends the build gracefully: logs say so, lock released, nothing staged, 128+n', async () => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    const name = `graceful-${sig}`;
    const r = await signalled(opts(name, ['--verbose', sleeper]), sig, sleeping);
    assert.equal(r.code, exitFor[sig], r.stderr.slice(-2000));
    oneLine(r, new RegExp(`^isomock: error: interrupted by ${sig}$`));
    const dir = join(scratch, name);
    assert.match(readFileSync(join(dir, 'root.log'), 'utf8'), new RegExp(`build interrupted \\(${sig}\\)`));
    assert.match(readFileSync(join(dir, 'build.log'), 'utf8'), /ISOMOCK-TEST-SLEEPING\n[^]*build interrupted/);
    assert.match(readFileSync(join(dir, 'state.log'), 'utf8'), /Finish: build phase for sleeper/);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('partial')),
      [],
      'no staging file',
    );
    // The root lock is free: flock(1) takes it at once.
    const lockPath = join(scratch, 'lib', 'world-1-x86_64.lock');
    assert.equal(spawnSync('flock', ['-n', lockPath, 'true']).status, 0, 'lock released');
    await noBuildProcesses(sig);
  }
});

test('a second signal kills at once, and still nothing of the build survives', async () => {
  const r = await signalled(opts('second-signal', ['--verbose', sleeper]), 'SIGTERM', sleeping, ['SIGTERM']);
  assert.equal(r.code, 143, r.stderr.slice(-2000));
  assert.ok(r.afterSignalMs < 3000, `took ${r.afterSignalMs} ms`);
  await noBuildProcesses('a second SIGTERM');
  assert.deepEqual(isomockMounts(scratch), []);
});

test('two concurrent builds of one root never run together: the second fails at once with exit 60', async () => {
  const first = spawn(isomockBin, opts('concurrent-1', ['--verbose', sleeper]), {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const firstDone = new Promise<number | null>((res) => first.on('close', (c) => res(c)));
  let stderr = '';
  await new Promise<void>((res) =>
    first.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (sleeping.test(stderr)) res();
    }),
  );
  try {
    // The first is inside %build, holding the root's lock.
    const second = await isomock([...opts('concurrent-2'), '-q', srpm('hello-synth')]);
    assert.equal(second.code, 60, second.stderr);
    oneLine(second, /^isomock: error: root world-1-x86_64 is in use/);
  } finally {
    first.kill('SIGTERM');
  }
  assert.equal(await firstDone, 143);
});

test('a planted lock symlink fails fast with one line and touches nothing', async () => {
  const target = join(scratch, 'lock-target');
  // The build's root lock.
  const lockPath = join(scratch, 'lib', 'world-1-x86_64.lock');
  rmSync(lockPath, { force: true });
  symlinkSync(target, lockPath);
  const r = await isomock([...opts('planted-lock'), '-q', srpm('hello-synth')]);
  rmSync(lockPath);
  assert.notEqual(r.code, 0);
  oneLine(r, /lock file .*world-1-x86_64\.lock: it is a symbolic link/);
  assert.equal(existsSync(target), false, 'nothing created through the link');

  // isolated-repo's output repository lock (it waited an hour "held by process ?").
  const repo = join(scratch, 'planted-repo');
  mkdirSync(repo);
  symlinkSync(target, join(repo, '.isomock-lock'));
  const lockfile = await calculatedLockfile();
  const started = Date.now();
  const child = spawn(isomockBin, ['isolated-repo', '-q', '--lockfile', lockfile, '--output-repo', repo], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  clearTimeout(timer);
  assert.ok(Date.now() - started < 30_000, `still waiting after 30 s: ${stderr}`);
  assert.notEqual(code, 0);
  oneLine({ code: code ?? -1, stdout: '', stderr }, /lock file .*\.isomock-lock: it is a symbolic link/);
  assert.equal(existsSync(target), false);
});

let calculated: Promise<string> | undefined;
/** hello-synth's lockfile, calculated once. */
function calculatedLockfile(): Promise<string> {
  calculated ??= (async () => {
    const r = await isomock([...opts('calc'), '-q', '--calculate-build-dependencies', srpm('hello-synth')]);
    assert.equal(r.code, 0, r.stderr);
    return join(scratch, 'calc', 'buildroot_lock.json');
  })();
  return calculated;
}

test('case 4: ISOMOCK_NETWORK_CUT_PROBE_PORT set to nonsense is ignored: one line, no stack trace', async () => {
  const r = await isomock(
    ['--isolated-build', join(scratch, 'no-such-lock.json'), join(scratch, 'no-such-repo'), srpm('hello-synth')],
    { env: { ISOMOCK_NETWORK_CUT_PROBE_PORT: 'not-a-port' } },
  );
  assert.notEqual(r.code, 0);
  oneLine(r, /no-such-lock\.json/);
});

test('case 4: with ISOMOCK_NETWORK_CUT_PROBE_PORT set, the isolated build still runs in its own network namespace', async () => {
  const lockfile = await calculatedLockfile();
  const repo = join(scratch, 'offline-repo');
  const made = await isomock(['isolated-repo', '-q', '--lockfile', lockfile, '--output-repo', repo]);
  assert.equal(made.code, 0, made.stderr);

  // A listener of the caller's on the host's loopback, named by the variable that used to skip the namespace.
  let connections = 0;
  const server: Server = createServer((s) => {
    connections++;
    s.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  try {
    const r = await isomock(
      ['--isolated-build', lockfile, repo, ...scratchOpts(scratch, 'iso'), '-q', srpm('hello-synth')],
      { env: { ISOMOCK_NETWORK_CUT_PROBE_PORT: String(port) } },
    );
    assert.equal(r.code, 0, r.stderr);
    const rootLog = readFileSync(join(scratch, 'iso', 'root.log'), 'utf8');
    const m = /network cut verified: own network namespace (net:\[\d+\]) \(isomock's is (net:\[\d+\])\), only lo/.exec(
      rootLog,
    );
    assert.ok(m, rootLog);
    assert.equal(m[2], readlinkSync('/proc/self/ns/net'), "isomock's own namespace is the host's");
    assert.notEqual(m[1], m[2]);
    assert.ok(!rootLog.includes(`127.0.0.1:${port} `), 'the proof used its own listener, not the caller-named port');
    assert.equal(connections, 0, 'nothing of the isolated build reached the host listener');
  } finally {
    server.close();
  }
});

test('a read-only result dir and a full one (real tmpfs) fail in one line, with nothing half-written', async () => {
  const ro = join(scratch, 'ro');
  const full = join(scratch, 'full');
  mkdirSync(ro);
  mkdirSync(full);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'isomock-test-ro', ro]);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24k', 'isomock-test-full', full]);
  try {
    const a = await isomock([...opts('unused-ro'), '--resultdir', join(ro), '-q', srpm('hello-synth')]);
    assert.notEqual(a.code, 0);
    oneLine(a, /EROFS|read-only/);

    const b = await isomock([...opts('unused-full'), '--resultdir', full, srpm('hello-synth')]);
    assert.equal(b.code, 70, b.stderr);
    oneLine(b, /ENOSPC|no space left/);
    const left = readdirSync(full);
    assert.deepEqual(
      left.filter((f) => f.includes('partial') || f.includes('.tmp')),
      [],
      'no staging file',
    );
    if (left.includes('installed_pkgs.log'))
      assert.notEqual(readFileSync(join(full, 'installed_pkgs.log'), 'utf8'), '', 'an empty installed_pkgs.log');
    assert.ok(!left.some((f) => f.endsWith('.rpm')), `a result in a full result dir: ${left.join(' ')}`);
  } finally {
    spawnSync('umount', [ro]);
    spawnSync('umount', [full]);
  }
  await noBuildProcesses('a full result dir');
});

test('an unusable host tool (setpriv, EACCES) is one line naming it, not a stack trace', async () => {
  // In a private mount namespace of this test only, setpriv is replaced by a file nobody may execute.
  const blocked = join(scratch, 'not-executable');
  writeFileSync(blocked, '', { mode: 0o644 });
  const r = await new Promise<CliResult>((resolve) => {
    const child = spawn(
      '/usr/bin/unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '/bin/sh',
        '-c',
        'mount --bind "$1" /usr/bin/setpriv && shift && exec "$@"',
        'sh',
        blocked,
        isomockBin,
        ...opts('no-setpriv'),
        '-q',
        srpm('hello-synth'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  assert.notEqual(r.code, 0);
  oneLine(r, /^isomock: error: cannot run \/usr\/bin\/setpriv: permission denied \(EACCES\)/);
});
