/**
 * The config constructs Koji's and Copr's generated configs use (issue 16),
 * read as Mock reads them: `-r koji/NAME`, `yum.conf` as `dnf.conf`,
 * `config_opts.setdefault(...)`, `+=` on dnf.conf, expressions on included
 * values, an absolute include(), int() on an included value. Files only.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { pyRepr, type PyValue } from '../../src/python/value.js';
import { expandedOption } from '../../src/config/template.js';
import { IsomockError } from '../../src/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'isomock-config-constructs-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const configDir = join(scratch, 'etc');
const home = join(scratch, 'home');
mkdirSync(join(configDir, 'koji'), { recursive: true });
mkdirSync(home);
const parent = join(scratch, 'parent.tpl');
writeFileSync(
  parent,
  "config_opts['root'] = 'parent'\nconfig_opts['releasever'] = '41'\nconfig_opts['dnf.conf'] = '[main]\\nretries=1\\n'\n",
);
writeFileSync(
  join(configDir, 'koji', 'f41-build-1-x86_64.cfg'),
  [
    `include('${parent}')`,
    "config_opts['root'] = 'f41-build-1-x86_64'",
    "config_opts['yum.conf'] += '\\n[build]\\nbaseurl=http://127.0.0.1/repo\\n'",
    "config_opts.setdefault('plugin_conf', {})['bind_mount_opts']['dirs'].append(('/a', '/b'))",
    "config_opts.setdefault('isomock_new', 'x')",
    "config_opts.setdefault('releasever', '99')",
    "config_opts['chroot_additional_packages'] = 'git rpm-build'",
    "config_opts['macros']['%next'] = str(int(config_opts['releasever']) + 1)",
    "config_opts['bootstrap_image_ready'] = int(config_opts['releasever']) >= 41",
    '',
  ].join('\n'),
);

test('a Koji/Copr-style config reads as Mock reads it', () => {
  const { raw } = loadConfig({ root: 'koji/f41-build-1-x86_64', configDir, home, systemDirs: [] });
  assert.equal(raw['root'], 'f41-build-1-x86_64');
  assert.equal(raw['dnf.conf'], '[main]\nretries=1\n\n[build]\nbaseurl=http://127.0.0.1/repo\n');
  assert.equal(raw['isomock_new'], 'x');
  assert.equal(raw['releasever'], '41');
  assert.equal(raw['chroot_additional_packages'], 'git rpm-build');
  assert.equal((raw['macros'] as Record<string, unknown>)['%next'], '42');
  assert.equal(raw['bootstrap_image_ready'], true);
  const binds = expandedOption(raw, 'plugin_conf') as Record<string, Record<string, PyValue>>;
  assert.equal(pyRepr(binds['bind_mount_opts']!['dirs']!), "[('/a', '/b')]");
});

test('int() of a value that is no number fails as Python does, naming file and line, exit 3', () => {
  writeFileSync(join(configDir, 'bad.cfg'), "config_opts['root'] = 'bad'\nconfig_opts['x'] = int('4o')\n");
  assert.throws(
    () => loadConfig({ root: 'bad', configDir, home, systemDirs: [] }),
    (err: unknown) =>
      err instanceof IsomockError &&
      err.exitCode === 3 &&
      err.message === `${join(configDir, 'bad.cfg')}:2: invalid literal for int() with base 10: '4o'`,
  );
});
