/**
 * Mock's read-only options and Koji's obsolete spellings through ./bin/isomock,
 * and Mock's options isomock refuses: one line, exit 5. Reads config files
 * only, from a scratch config directory.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isomock } from '../helpers/isomock.js';
import { refusedOptions } from '../../src/cli/options.js';
import { version } from '../../src/version.js';

const scratch = mkdtempSync(join(tmpdir(), 'isomock-cli-options-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const configDir = join(scratch, 'etc');
mkdirSync(join(configDir, 'templates'), { recursive: true });
const base = join(scratch, 'base');
writeFileSync(
  join(configDir, 'templates', 'demo.tpl'),
  [
    "config_opts['releasever'] = '41'",
    "config_opts['target_arch'] = 'x86_64'",
    "config_opts['legal_host_arches'] = ('x86_64',)",
    "config_opts['description'] = 'Demo ' + config_opts['releasever']",
    `config_opts['basedir'] = '${base}'`,
    "config_opts['dnf.conf'] = '[main]\\n'",
    '',
  ].join('\n'),
);
writeFileSync(join(configDir, 'demo-41.cfg'), "include('templates/demo.tpl')\nconfig_opts['root'] = 'demo-41'\n");
writeFileSync(join(configDir, 'broken.cfg'), "include('/nonexistent/isomock-test.tpl')\n");
writeFileSync(join(configDir, 'a-plain.cfg'), "config_opts['root'] = 'a-plain'\n");
const demo = ['--configdir', configDir, '-r', 'demo-41'];

test('--print-root-path prints the buildroot path, with --uniqueext, and creates nothing', async () => {
  for (const [extra, root] of [
    [[], 'demo-41'],
    [['--uniqueext', 'u1'], 'demo-41-u1'],
  ] as const) {
    for (const spelling of ['-p', '--print-root-path']) {
      const r = await isomock([...demo, ...extra, spelling]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${base}/${root}/root/\n`);
    }
  }
  assert.deepEqual(readdirSync(scratch).sort(), ['etc']);
});

test('--list-chroots lists every config in order with its description, as Mock does', async () => {
  const r = await isomock(['--configdir', configDir, '--list-chroots']);
  assert.equal(r.code, 0, r.stderr);
  const row = (name: string, description: string): string => `${name.padEnd(34)} ${description}`;
  assert.deepEqual(r.stdout.split('\n'), [
    row('config name', 'description'),
    'Global configs:',
    row('a-plain', ''),
    row('broken', 'error during parsing the config file'),
    row('demo-41', 'Demo 41'),
    'Custom configs:',
    '',
  ]);
});

test('--version prints the version', async () => {
  const r = await isomock(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${version}\n`);
});

test("Koji's --new-chroot, --old-chroot and --bootstrap-image-ready are read as Mock reads them", async () => {
  const show = async (...extra: string[]): Promise<string> => {
    const r = await isomock([...demo, ...extra, '--debug-config']);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  assert.match(await show('--new-chroot'), /^config_opts\['use_nspawn'\] = True$/m);
  assert.match(await show('--old-chroot'), /^config_opts\['use_nspawn'\] = False$/m);
  assert.doesNotMatch(await show('--old-chroot', '--isolation', 'nspawn'), /use_nspawn'\] = False/);
  assert.match(await show('--bootstrap-image-ready'), /^config_opts\['bootstrap_image_ready'\] = True$/m);
  assert.doesNotMatch(await show(), /bootstrap_image_ready/);
});

test('every Mock option isomock does not implement is refused in one line, exit 5', async () => {
  assert.ok(refusedOptions.length > 0);
  for (const name of refusedOptions) {
    const r = await isomock([...demo, name]);
    assert.equal(r.code, 5, `${name}: ${r.stderr}`);
    assert.equal(r.stderr, `isomock: error: ${name} is not supported by isomock\n`);
    assert.equal(r.stdout, '');
  }
});
