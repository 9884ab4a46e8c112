/**
 * The engine's typed view of a config (buildroot/build-config.ts), fast and
 * without root: what a lockfile records, the lock plugin, no_root_shells,
 * rpmbuild_timeout and isolation are typed or refused here, never read from
 * a raw dictionary later; and the run timeout rpmbuild_timeout becomes.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { buildConfigFrom, type BuildConfig } from '../../src/buildroot/build-config.js';
import { run } from '../../src/buildroot/process.js';
import { loadConfig } from '../../src/config/load.js';
import { recordedConfigKeys } from '../../src/lockfile/lockfile.js';
import { ExitCode, IsomockError } from '../../src/errors.js';
import { referenceDir } from '../helpers/paths.js';

const configDir = join(referenceDir, 'mock-core-configs', 'etc', 'mock');
const home = mkdtempSync(join(tmpdir(), 'isomock-build-config-'));
after(() => rmSync(home, { recursive: true, force: true }));

function config(configOpts: string[] = [], plugins: [string, boolean][] = []): BuildConfig {
  const { raw } = loadConfig({
    root: 'fedora-42-x86_64',
    configDir,
    home,
    systemDirs: [],
    cmdline: { configOpts, plugins },
  });
  return buildConfigFrom(raw);
}

const refused = (configOpts: string[], message: RegExp) => (): void =>
  assert.throws(
    () => config(configOpts),
    (e: unknown) => e instanceof IsomockError && e.exitCode === ExitCode.config && message.test(e.message),
  );

test("what a lockfile records is typed in the config: Mock's keys, expanded, as JSON", () => {
  const c = config(['bootstrap_image_ready=True']);
  assert.deepEqual(Object.keys(c.recordedConfig).sort(), [...recordedConfigKeys].sort());
  assert.equal(c.recordedConfig['target_arch'], 'x86_64');
  assert.equal(c.recordedConfig['bootstrap_image_ready'], true);
  assert.match(String(c.recordedConfig['bootstrap_image']), /fedora:42$/);
  assert.deepEqual(c.recordedConfig['legal_host_arches'], ['x86_64']);
});

test('the buildroot_lock plugin and no_root_shells are typed switches', () => {
  assert.equal(config().lockPlugin, false);
  assert.equal(config([], [['buildroot_lock', true]]).lockPlugin, true);
  assert.equal(config().noRootShells, false);
  assert.equal(config(['no_root_shells=True']).noRootShells, true);
});

test('rpmbuild_timeout: whole seconds (0 and None are none), anything else refused with exit 3', () => {
  assert.equal(config().rpmbuildTimeout, 0);
  assert.equal(config(['rpmbuild_timeout=90']).rpmbuildTimeout, 90);
  assert.equal(config(['rpmbuild_timeout=None']).rpmbuildTimeout, 0);
  refused(['rpmbuild_timeout=soon'], /rpmbuild_timeout'\] must be a whole number of seconds, not soon/)();
  refused(['rpmbuild_timeout=-1'], /must be a whole number of seconds, not -1/)();
});

test("isolation: Mock's values accepted (isomock's sandbox runs them all), any other refused with exit 3", () => {
  for (const value of ['auto', 'nspawn', 'simple']) assert.equal(config([`isolation=${value}`]).isolation, value);
  assert.equal(config().isolation, null);
  refused(['isolation=docker'], /isolation'\] "docker" is not one of auto, nspawn, simple/)();
});

test('a run past its timeout: SIGTERM, SIGKILL a second later for a command deaf to it, then exit 11', async () => {
  const started = Date.now();
  const log: string[] = [];
  await assert.rejects(
    run(['/bin/sh', '-c', "trap '' TERM; sleep 30 & wait; sleep 30"], {
      env: {},
      timeout: { seconds: 1, command: 'deaf sleeper' },
      log: new Writable({
        write(chunk: Buffer, _enc, done) {
          log.push(chunk.toString());
          done();
        },
      }),
    }),
    (e: unknown) =>
      e instanceof IsomockError &&
      e.exitCode === ExitCode.commandTimeout &&
      e.message === 'Timeout(1) expired for command: deaf sleeper',
  );
  const took = Date.now() - started;
  assert.ok(took >= 1900 && took < 5000, `took ${took} ms`);
  assert.deepEqual(log, ['Timeout(1) expired for command: deaf sleeper\n']);
  // Within its timeout, a command's own exit code is the result.
  assert.equal((await run(['/bin/sh', '-c', 'exit 3'], { env: {}, timeout: { seconds: 5, command: 'x' } })).code, 3);
});
