/**
 * The one buildroot life cycle (commands/chroot-session.ts) as every mode
 * sees it, through ./bin/isomock on the demo world: the root lock comes
 * before the result dir and its logs, and a build leaves the `.initialized`
 * marker that the next mode's session honours (Mock's reuse of a root).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { serveWorld, worldBuildOpts, type ServedWorld } from './helpers/world.js';
import { isomock } from './helpers/isomock.js';

let world: ServedWorld;
let scratch: string;

before(async () => {
  world = await serveWorld();
  scratch = mkdtempSync('/tmp/isomock-life-cycle-test-');
});
after(async () => {
  await world?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const srpm = (name: string): string =>
  join(world.world.dir, world.world.manifest.srpms.find((s) => s.name === name)!.file);

/** Holds flock(1) on path (its directory made first) until the returned function is called. */
async function holdLock(path: string): Promise<() => void> {
  mkdirSync(dirname(path), { recursive: true });
  // -o: the command does not inherit the lock, so it ends with flock; its own group goes with it.
  const holder = spawn('/usr/bin/flock', ['-x', '-o', path, '/bin/sh', '-c', 'echo locked; exec sleep 600'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  await new Promise<void>((resolve, reject) => {
    holder.once('error', reject);
    holder.once('exit', (code) => reject(new Error(`flock ${path} exited ${code}`)));
    holder.stdout.once('data', () => resolve());
  });
  return () => process.kill(-holder.pid!, 'SIGKILL');
}

test('a build on a busy root fails with exit 60 before it creates its result dir or writes a log', async () => {
  const release = await holdLock(join(scratch, 'lib', 'world-1-x86_64.lock'));
  try {
    const r = await isomock([...worldBuildOpts(world, scratch, 'busy'), '-q', srpm('hello-synth')]);
    assert.equal(r.code, 60, r.stderr);
    assert.match(r.stderr, /^isomock: error: root world-1-x86_64 is in use by another isomock/);
    assert.equal(existsSync(join(scratch, 'busy')), false, 'the result dir (and logs in it) of the other build');
  } finally {
    release();
  }
});

test('a build leaves an initialized root: --chroot after it reuses it without installing again', async () => {
  const built = await isomock([...worldBuildOpts(world, scratch, 'built'), '-q', '-N', srpm('hello-synth')]);
  assert.equal(built.code, 0, built.stderr);
  assert.ok(existsSync(join(scratch, 'lib', 'world-1-x86_64', 'root', '.initialized')), 'the marker');
  const state = readFileSync(join(scratch, 'built', 'state.log'), 'utf8');
  assert.match(state, /Start: installing minimal buildroot/);

  const ran = await isomock([...worldBuildOpts(world, scratch, 'reused'), '-q', '--chroot', 'test -x /bin/sh']);
  assert.equal(ran.code, 0, ran.stderr);
  const reused = readFileSync(join(scratch, 'reused', 'state.log'), 'utf8');
  assert.match(reused, /Finish: chroot init/);
  assert.doesNotMatch(reused, /installing minimal buildroot/, 'chroot_setup_cmd ran again on an initialized root');
});
