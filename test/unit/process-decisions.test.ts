/**
 * The pure decisions behind processes, signals, locks and error lines, fast
 * and without root: the sandbox's init, the network namespace's interface
 * list, the lock's refusals, the process-tree walk, the one-line errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCommand, sandboxScript, shellQuote } from '../../src/buildroot/sandbox.js';
import { interfaces } from '../../src/buildroot/netcut.js';
import { descendants, run, InterruptedError } from '../../src/buildroot/process.js';
import { LockBusyError, takeLock } from '../../src/util/lock.js';
import { errorLine } from '../../src/util/error-line.js';
import { ExitCode, IsomockError } from '../../src/errors.js';
import { exitCodeFor } from '../../src/cli/signals.js';

test('the sandbox init is a root timeout(1) that runs the command as its child, even for the build user', () => {
  const script = sandboxScript({
    argv: ['/usr/bin/rpmbuild', '-bb', 'x.spec'],
    chroot: '/var/lib/mock/r/root',
    systemTrees: [],
    network: false,
    user: { uid: 1000, gid: 135 },
    env: {},
  });
  const last = script.split('\n').at(-1)!;
  // exec'ing chroot --userspec directly would make the init change credentials and lose its parent-death signal.
  assert.equal(
    last,
    `exec ${[...initCommand, '/usr/sbin/chroot', '--userspec=1000:135', '--groups=135', '/var/lib/mock/r/root', '/usr/bin/rpmbuild', '-bb', 'x.spec'].map(shellQuote).join(' ')}`,
  );
  assert.deepEqual(initCommand, ['/usr/bin/timeout', '--foreground', '0']);
});

test('only lo counts as a cut network namespace', () => {
  const header = 'Inter-|   Receive\n face |bytes    packets\n';
  assert.deepEqual(interfaces(`${header}    lo: 0 0 0\n`), ['lo']);
  assert.deepEqual(interfaces(`${header}    lo: 0 0\n  eth0: 1 2\n`), ['lo', 'eth0']);
});

test('the lock: taken once, busy for a second taker (exit 60), free again after release', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'isomock-unit-lock-'));
  try {
    const path = join(dir, 'root.lock');
    const held = await takeLock(path, 'root r', { waitMs: 0 });
    await assert.rejects(takeLock(path, 'root r', { waitMs: 0 }), (e: unknown) => {
      assert.ok(e instanceof LockBusyError);
      assert.equal(e.exitCode, ExitCode.lockHeld);
      return true;
    });
    // A waiting taker gets it as soon as the holder lets go.
    let told = false;
    const waiting = takeLock(path, 'root r', { waitMs: 10_000, onWait: () => (told = true) });
    await new Promise((r) => setTimeout(r, 200));
    held.release();
    (await waiting).release();
    assert.ok(told);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the lock refuses a symlink, a hard link and a directory, creating nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'isomock-unit-lock-'));
  try {
    symlinkSync(join(dir, 'target'), join(dir, 'sym.lock'));
    await assert.rejects(takeLock(join(dir, 'sym.lock'), 'x', { waitMs: 0 }), /it is a symbolic link/);
    writeFileSync(join(dir, 'victim'), '');
    linkSync(join(dir, 'victim'), join(dir, 'hard.lock'));
    await assert.rejects(takeLock(join(dir, 'hard.lock'), 'x', { waitMs: 0 }), /not a regular file with one link/);
    await assert.rejects(takeLock(dir, 'x', { waitMs: 0 }), IsomockError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('descendants() walks the whole tree below a process', async () => {
  const child = spawn('/bin/sh', ['-c', 'sleep 30 & sleep 30 & wait'], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50 && descendants(child.pid!).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(descendants(child.pid!).length, 2);
  } finally {
    for (const pid of descendants(child.pid!)) process.kill(pid, 'SIGKILL');
    child.kill('SIGKILL');
  }
});

test('an aborted run ends its child tree and rejects; once aborted, nothing new starts', async () => {
  const controller = new AbortController();
  const started = Date.now();
  // 31 s marks this test's sleeps: a sleep of an earlier test, not yet reaped, must not count.
  const running = run(['/bin/sh', '-c', 'sleep 31; sleep 31'], { env: {}, signal: controller.signal });
  const sleeping = (): boolean =>
    descendants(process.pid).some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8') === 'sleep\x0031\x00';
      } catch {
        return false;
      }
    });
  for (let i = 0; i < 500 && !sleeping(); i++) await new Promise((r) => setTimeout(r, 20));
  controller.abort('SIGTERM');
  await assert.rejects(
    running,
    (e: unknown) => e instanceof InterruptedError && /interrupted by SIGTERM/.test(e.message),
  );
  // Ended, not waited for: the sleeps alone take 62 s (the bound leaves room for a loaded CI machine).
  assert.ok(Date.now() - started < 15_000);
  await assert.rejects(run(['/bin/true'], { env: {}, signal: controller.signal }), InterruptedError);
});

test('an abort also ends children forked while it is delivered, and those left in the background', async () => {
  // The shell forks as fast as it can: a walk of the tree is always behind it, the process group is not.
  const forking = 'i=0; while [ $i -lt 3000 ]; do sleep 32 & i=$((i+1)); done; wait';
  for (const script of [forking, 'sleep 32 & exit 0']) {
    const controller = new AbortController();
    const started = Date.now();
    const running = run(['/bin/sh', '-c', script], { env: {}, signal: controller.signal });
    setTimeout(() => controller.abort('SIGTERM'), 300);
    try {
      await assert.rejects(running, InterruptedError);
      assert.ok(Date.now() - started < 4000, `${script}: ended after ${Date.now() - started} ms`);
    } finally {
      spawnSync('/usr/bin/pkill', ['-KILL', '-x', '-f', 'sleep 32']);
    }
  }
});

test('system errors are one line naming the operation and path', () => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), {
    code: 'ENOSPC',
    syscall: 'write',
    path: '/r/x.rpm',
  });
  assert.deepEqual(errorLine(enospc), {
    message: 'write /r/x.rpm: no space left on device (ENOSPC)',
    exitCode: ExitCode.error,
  });
  const missing = Object.assign(new Error('spawn /usr/bin/setpriv ENOENT'), {
    code: 'ENOENT',
    syscall: 'spawn /usr/bin/setpriv',
    path: '/usr/bin/setpriv',
  });
  assert.match(errorLine(missing).message, /^cannot run \/usr\/bin\/setpriv: no such file or directory \(ENOENT\)/);
  assert.equal(errorLine(new TypeError('x is undefined\n  at f')).message, 'internal error: x is undefined');
  assert.deepEqual(errorLine(new IsomockError('held', ExitCode.lockHeld)), { message: 'held', exitCode: 60 });
  assert.equal(exitCodeFor('SIGTERM'), 143);
  assert.equal(exitCodeFor('SIGINT'), 130);
});

test('the lock file goes on release; a taker that waited on a removed file takes the new one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'isomock-unit-lock-'));
  try {
    const path = join(dir, '.isomock-lock');
    const first = await takeLock(path, 'repo', { waitMs: 0 });
    const second = takeLock(path, 'repo', { waitMs: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
    first.release();
    const held = await second;
    // The second holds the lock on the file the path names now, so a third cannot take it.
    await assert.rejects(takeLock(path, 'repo', { waitMs: 0 }), LockBusyError);
    held.release();
    assert.equal(existsSync(path), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
