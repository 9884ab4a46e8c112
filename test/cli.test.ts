import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parseArgs, pair, list, str } from '../src/cli/args.js';
import { mainOptions, isolatedRepoOptions } from '../src/cli/options.js';
import { CommandLineError } from '../src/errors.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/isomock', import.meta.url));

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(bin, args);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('options may come before and after the SRPM, as in Mock', () => {
  const a = parseArgs(['-r', 'world-1-x86_64', 'x.src.rpm', '--resultdir=/tmp/r', '-Dfoo 1'], mainOptions);
  assert.equal(str(a, 'root'), 'world-1-x86_64');
  assert.equal(str(a, 'resultdir'), '/tmp/r');
  assert.deepEqual(list(a, 'define'), ['foo 1']);
  assert.deepEqual(a.positionals, ['x.src.rpm']);
  assert.equal(a.mode, undefined);
});

test('--isolated-build takes LOCKFILE and REPO, then the SRPM; --hermetic-build is the same', () => {
  for (const spelling of ['--isolated-build', '--hermetic-build']) {
    const a = parseArgs([spelling, 'lock.json', '/repo', 'x.src.rpm'], mainOptions);
    assert.equal(a.mode, 'isolated-build');
    assert.deepEqual(pair(a, 'isolated-build'), ['lock.json', '/repo']);
    assert.deepEqual(a.positionals, ['x.src.rpm']);
  }
});

test('two modes on one line are refused', () => {
  assert.throws(() => parseArgs(['--rebuild', '--calculate-build-dependencies', 'x'], mainOptions), CommandLineError);
});

test('--client-cert-for takes HOST CERT and an optional KEY, repeatedly', () => {
  const a = parseArgs(
    ['--client-cert-for', 'h1', 'c1', 'k1', '--client-cert-for', 'h2', 'c2', '--lockfile', 'l'],
    isolatedRepoOptions,
  );
  assert.deepEqual(a.options.get('client-cert-for'), [
    ['h1', 'c1', 'k1'],
    ['h2', 'c2'],
  ]);
  assert.equal(str(a, 'lockfile'), 'l');
});

test('isomock --help and --version exit 0', async () => {
  const h = await cli('--help');
  assert.equal(h.code, 0);
  assert.match(h.stdout, /--calculate-build-dependencies/);
  assert.match(h.stdout, /--hermetic-build LOCKFILE REPO/);
  const v = await cli('--version');
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('a bad command line exits 5 with one message and no stack trace', async () => {
  for (const args of [
    ['--no-such-option'],
    ['--isolated-build', 'only-one'],
    ['--rebuild'],
    ['isolated-repo', '--bogus'],
  ]) {
    const r = await cli(...args);
    assert.equal(r.code, 5, args.join(' '));
    assert.match(r.stderr, /^isomock: error: /);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
