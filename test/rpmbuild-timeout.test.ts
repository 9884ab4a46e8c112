/**
 * Mock's rpmbuild_timeout through ./bin/isomock on the demo world: each
 * rpmbuild call ends after the timeout (SIGTERM to its tree, SIGKILL a second
 * later, as Mock's do_with_status), the build fails with Mock's exit code 11
 * and its one line, and nothing of the build is left running.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveWorld, worldBuildOpts, type ServedWorld } from './helpers/world.js';
import { isomock } from './helpers/isomock.js';

let world: ServedWorld;
let scratch: string;
let stubborn: string;

/** A hostile SRPM: %build ignores SIGTERM (its sleep inherits that), so only the SIGKILL ends it. */
const stubbornSpec = `
Name: stubborn
Version: 1
Release: 1
Summary: ignores SIGTERM in %build
License: MIT
BuildArch: noarch
%description
Sleeps, deaf to SIGTERM.
%build
trap '' TERM
echo ISOMOCK-TEST-STUBBORN
sleep 600
%files
`;

before(async () => {
  world = await serveWorld();
  scratch = mkdtempSync('/tmp/isomock-rpmbuild-timeout-');
  const top = join(scratch, 'rpmbuild');
  mkdirSync(join(top, 'SPECS'), { recursive: true });
  writeFileSync(join(top, 'SPECS', 'stubborn.spec'), stubbornSpec);
  execFileSync('rpmbuild', ['-bs', '--define', `_topdir ${top}`, join(top, 'SPECS', 'stubborn.spec')], {
    stdio: 'ignore',
  });
  stubborn = join(top, 'SRPMS', 'stubborn-1-1.src.rpm');
});

after(async () => {
  // Whatever a failing (old) build left running in our buildroot goes, so the machine stays clean.
  for (const pid of buildProcesses()) process.kill(pid, 'SIGKILL');
  await world?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Host PIDs of the processes chrooted into a root under scratch. */
function buildProcesses(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readlinkSync(`/proc/${e}/root`).startsWith(scratch);
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('--rpmbuild_timeout ends an rpmbuild deaf to SIGTERM: exit 11, one line, build.log says so, nothing left', async () => {
  const started = Date.now();
  const r = await isomock([...worldBuildOpts(world, scratch, 'timeout'), '-q', '--rpmbuild_timeout', '5', stubborn], {
    killAfterMs: 300_000,
  });
  assert.equal(r.code, 11, r.stderr);
  assert.match(r.stderr, /^isomock: error: Timeout\(5\) expired for command: rpmbuild -bb .*stubborn\.spec\n$/);
  const log = readFileSync(join(scratch, 'timeout', 'build.log'), 'utf8');
  assert.match(log, /ISOMOCK-TEST-STUBBORN\n[^]*Timeout\(5\) expired for command/);
  assert.deepEqual(buildProcesses(), [], 'processes of the build still running');
  assert.ok(Date.now() - started < 240_000, `took ${Date.now() - started} ms`);
});

test('rpmbuild_timeout that is not a whole number of seconds is refused before any work', async () => {
  const cli = await isomock([...worldBuildOpts(world, scratch, 'bad-cli'), '--rpmbuild_timeout', '1.5', stubborn]);
  assert.equal(cli.code, 5, cli.stderr);
  assert.match(cli.stderr, /^isomock: error: --rpmbuild_timeout: invalid integer value: '1\.5'\nTry 'isomock --help'/);
  const config = await isomock(
    [...worldBuildOpts(world, scratch, 'bad-config'), '--config-opts', 'rpmbuild_timeout=soon', stubborn],
    { killAfterMs: 60_000 },
  );
  assert.equal(config.code, 3, config.stderr);
  assert.match(config.stderr, /rpmbuild_timeout'\] must be a whole number of seconds/);
});
