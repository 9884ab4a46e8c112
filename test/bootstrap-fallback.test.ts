/**
 * Mock's bootstrap_image_fallback through ./bin/isomock on the demo world:
 * a bootstrap image that cannot be pulled (its registry refuses the
 * connection, on 127.0.0.1) is a WARNING and the buildroot is made with the
 * host's package manager when the option is on (Mock's default), and Mock's
 * bootstrap error (exit 90) when it is off.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { serveWorld, worldBuildOpts, type ServedWorld } from './helpers/world.js';
import { isomock } from './helpers/isomock.js';

let world: ServedWorld;
let scratch: string;
let image: string;

before(async () => {
  world = await serveWorld();
  scratch = mkdtempSync('/tmp/isomock-bootstrap-fallback-');
  // A port that was free a moment ago and is closed now: the pull's connection is refused.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  image = `127.0.0.1:${port}/nowhere/bootstrap:1`;
});
after(async () => {
  await world?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const withImage = (name: string, fallback: boolean): string[] =>
  worldBuildOpts(world, scratch, name, [
    '--config-opts',
    'use_bootstrap=True',
    '--config-opts',
    'use_bootstrap_image=True',
    '--config-opts',
    `bootstrap_image=${image}`,
    '--config-opts',
    `bootstrap_image_fallback=${fallback ? 'True' : 'False'}`,
  ]);

test('an image that cannot be pulled: with bootstrap_image_fallback the host package manager makes the root, with a WARNING', async () => {
  const r = await isomock([...withImage('fallback', true), '-q', '--init'], { killAfterMs: 600_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`^WARNING: Can't initialize from container image ${image}, falling back`, 'm'));
  assert.match(
    readFileSync(join(scratch, 'fallback', 'root.log'), 'utf8'),
    /WARNING: Can't initialize from container image/,
  );
  assert.ok(existsSync(join(scratch, 'lib', 'world-1-x86_64', 'root', '.initialized')), 'an initialized root');
});

test('without bootstrap_image_fallback the same image is the bootstrap error, exit 90, one line', async () => {
  const r = await isomock([...withImage('no-fallback', false), '-q', '--init'], { killAfterMs: 600_000 });
  assert.equal(r.code, 90, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^isomock: error: .*127\\.0\\.0\\.1`));
});
