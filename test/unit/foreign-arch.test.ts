/**
 * A config for an arch this host cannot run (Mock's forcearch) is refused,
 * one line and Mock's exit code 6, before anything is created: never a
 * build for the wrong arch. --debug-config still prints it, as Mock does.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { machine, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isomock } from '../helpers/isomock.js';
import { referenceDir } from '../helpers/paths.js';

const configDir = join(referenceDir, 'mock-core-configs', 'etc', 'mock');
const foreign = machine() === 's390x' ? 'x86_64' : 's390x';
const name = `fedora-42-${foreign}`;
const scratch = mkdtempSync(join(tmpdir(), 'isomock-foreign-arch-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const base = join(scratch, 'base');
const common = [
  '--configdir',
  configDir,
  '-r',
  name,
  '--config-opts',
  `basedir=${base}`,
  '--config-opts',
  `cache_topdir=${join(scratch, 'cache')}`,
];

for (const mode of [['--init'], ['--rebuild', join(scratch, 'x-1-1.src.rpm')], ['--chroot', 'true']]) {
  test(`${mode[0]} of ${name} on ${machine()} stops with exit 6 and creates nothing`, async () => {
    assert.ok(existsSync(join(configDir, `${name}.cfg`)), `${configDir} lacks ${name}.cfg`);
    const r = await isomock([...common, ...mode]);
    assert.equal(r.code, 6, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot build for ${foreign} on this ${machine()} host`));
    assert.ok(!existsSync(base), 'a buildroot directory was created');
  });
}

test(`--debug-config of ${name} shows forcearch and the emulation multiplier`, async () => {
  const r = await isomock([...common, '--debug-config-expanded']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^config_opts\\['forcearch'\\] = '${foreign}'$`, 'm'));
  assert.match(r.stdout, /'%_platform_multiplier': 10/);
});
