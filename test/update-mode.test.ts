/**
 * --update as Mock runs it: the package manager's update in the buildroot
 * (initialized first when new), of the named packages. Through ./bin/isomock
 * on the demo world, whose updates repository carries synth-tool 1.1 over
 * base's 1.0; the host's rpm reading the buildroot's database is the oracle.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isomock } from './helpers/isomock.js';
import { serveWorld, type ServedWorld } from './helpers/world.js';

let world: ServedWorld;
let scratch: string;

before(async () => {
  world = await serveWorld();
  scratch = mkdtempSync('/tmp/isomock-update-test-');
});
after(async () => {
  await world?.close();
  rmSync(scratch, { recursive: true, force: true });
});

test('--update brings a package installed from base up to the updates repo', async () => {
  const root = `world-${world.world.manifest.releasever}-${world.world.manifest.arch}`;
  const opts = [
    '--configdir',
    world.configDir,
    '-r',
    root,
    '--config-opts',
    `basedir=${join(scratch, 'lib')}`,
    '--config-opts',
    `cache_topdir=${join(scratch, 'cache')}`,
    '-q',
  ];
  const version = (): string => {
    const r = spawnSync(
      'rpm',
      [
        '--root',
        join(scratch, 'lib', root, 'root'),
        '--dbpath',
        world.world.manifest.dbpath,
        '-q',
        '--qf',
        '%{VERSION}',
        'synth-tool',
      ],
      { encoding: 'utf8' },
    );
    return r.stdout;
  };
  const install = await isomock([...opts, '--disablerepo', 'world-updates', '--install', 'synth-tool']);
  assert.equal(install.code, 0, install.stderr);
  assert.equal(version(), '1.0');
  const update = await isomock([...opts, '--update', 'synth-tool']);
  assert.equal(update.code, 0, update.stderr);
  assert.equal(version(), '1.1');
});
