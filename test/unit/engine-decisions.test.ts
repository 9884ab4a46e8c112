/**
 * The build engine's pure decisions, fast and without root: the
 * BuildRequires loop's answer to each `rpmbuild -br` exit code, the rpmbuild
 * command lines of each round and of the final build, and what the sandbox
 * script mounts, cuts and runs for a spec.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRequiresArgs, buildRequiresStep, finalBuildArgs } from '../../src/buildroot/rpmbuild.js';
import { sandboxScript } from '../../src/buildroot/sandbox.js';

const target = ['--target', 'x86_64'];
const spec = '/builddir/build/SPECS/x.spec';

test('the BuildRequires loop: 0 is done, 11 installs, and every other answer fails with its reason', () => {
  assert.equal(buildRequiresStep(0, 1, 20, false), 'done');
  assert.equal(buildRequiresStep(0, 5, 20, true), 'done', 'a complete locked buildroot builds');
  assert.equal(buildRequiresStep(11, 1, 20, false), 'install');
  assert.equal(buildRequiresStep(11, 20, 20, false), 'install', 'the last allowed round still installs');
  assert.deepEqual(buildRequiresStep(11, 21, 20, false), { fail: 'BuildRequires still missing after 20 rounds' });
  assert.deepEqual(buildRequiresStep(11, 1, 20, true), {
    fail: 'the SRPM needs BuildRequires the lockfile does not hold (rpmbuild -br exit 11)',
  });
  assert.deepEqual(buildRequiresStep(1, 1, 20, false), { fail: 'rpmbuild -br failed (exit 1)' });
  assert.deepEqual(buildRequiresStep(137, 3, 20, true), { fail: 'rpmbuild -br failed (exit 137)' });
});

test('rpmbuild command lines: %prep in the first -br round only; the final build as Mock calls it', () => {
  assert.deepEqual(buildRequiresArgs(1, target, spec), ['-br', '--target', 'x86_64', spec]);
  assert.deepEqual(buildRequiresArgs(2, target, spec), ['-br', '--noprep', '--target', 'x86_64', spec]);
  assert.deepEqual(finalBuildArgs(false, false, target, spec), ['-bb', '--target', 'x86_64', spec]);
  assert.deepEqual(finalBuildArgs(false, true, target, spec), ['-bb', '--target', 'x86_64', spec, '--nocheck']);
  assert.deepEqual(finalBuildArgs(true, false, target, spec), ['-ba', '--noprep', '--target', 'x86_64', spec]);
  assert.deepEqual(finalBuildArgs(true, true, target, spec), [
    '-ba',
    '--noprep',
    '--target',
    'x86_64',
    spec,
    '--nocheck',
  ]);
});

test('the sandbox script: overlay first, binds (read-only ones remounted), the network cut, hostname, cwd', () => {
  // A bind's source is looked up in the host's mountinfo (submounts or not): it must exist.
  const source = mkdtempSync(join(tmpdir(), 'iso-sandbox-script-'));
  after(() => rmSync(source, { recursive: true, force: true }));
  const lines = sandboxScript({
    argv: ['/usr/bin/dnf', 'install', 'x'],
    chroot: '/b/root',
    overlay: { lower: '/cache/img', upper: '/b/up', work: '/b/work' },
    systemTrees: ['/b/root'],
    binds: [{ source, target: '/b/root/hermetic_repo', readOnly: true }],
    network: false,
    hostname: 'mock',
    cwd: '/builddir',
    env: { PATH: '/usr/bin' },
  }).split('\n');
  const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
  assert.ok(at(/^mount -t overlay -o 'lowerdir=\/cache\/img,upperdir=\/b\/up,workdir=\/b\/work'/) > 0);
  const rbind = lines.indexOf(`mount --rbind '${source}' '/b/root/hermetic_repo'`);
  assert.ok(rbind > at(/^mount -t overlay/));
  assert.ok(at(/remount,bind,ro'.*hermetic_repo|hermetic_repo.*remount,bind,ro/) > rbind);
  assert.ok(at(/^mount -t proc .* '\/b\/root'\/proc$/) > 0);
  assert.ok(at(/^ip link set lo up$/) > 0, 'the network cut brings up lo only');
  assert.equal(lines.at(-1)!.includes("'/bin/sh' '-c' 'cd \"$0\" && exec \"$@\"' '/builddir' '/usr/bin/dnf'"), true);
  assert.ok(at(/^hostname 'mock'$/) > 0);

  const online = sandboxScript({ argv: ['/bin/true'], systemTrees: [], network: true, env: {} });
  assert.equal(online.includes('ip link'), false, 'no cut: the host network, untouched');
  assert.equal(online.includes('chroot'), false, 'no chroot: the host tree');
  assert.throws(
    () =>
      sandboxScript({
        argv: ['/bin/true'],
        overlay: { lower: 'l', upper: 'u', work: 'w' },
        systemTrees: [],
        network: true,
        env: {},
      }),
    /an overlay needs a chroot/,
  );
});
