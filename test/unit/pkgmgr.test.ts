/**
 * The package manager layer's command lines, pinned against Mock's, never
 * against isomock's own output: dnf4's are read from the real Mock's root.log
 * (shared/reference/mock-output), dnf5's and yum's are written out from
 * Mock's package_manager.py (build_invocation, Dnf5, Yum) and config.py
 * defaults. Unit tier: no root, no servers, no package manager run.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { referenceDir } from '../helpers/paths.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { runConfigFile } from '../../src/config/source.js';
import { expandedOption } from '../../src/config/template.js';
import type { PyDict } from '../../src/python/value.js';
import { findPackageManager, pmArgv, pmConfigFrom, type PackageManager } from '../../src/buildroot/pkgmgr.js';
import { IsomockError } from '../../src/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'isomock-pkgmgr-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Mock's defaults plus the config text given, as a Mock .cfg file sets them. */
function configWith(text: string): PyDict {
  const config = defaultConfig();
  const file = join(scratch, `c${Math.random().toString(36).slice(2)}.cfg`);
  writeFileSync(file, text);
  runConfigFile(config, file, scratch);
  return config;
}

/** A tree holding the given files (and symlinks: `path -> target`). */
function tree(entries: string[]): string {
  const dir = mkdtempSync(join(scratch, 'tree-'));
  for (const e of entries) {
    const [path, target] = e.split(' -> ') as [string, string | undefined];
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    if (target) symlinkSync(target, join(dir, path));
    else writeFileSync(join(dir, path), '');
  }
  return dir;
}

function pmFor(text: string, files: string[]): PackageManager {
  const config = configWith(text);
  return findPackageManager(
    pmConfigFrom((k) => expandedOption(config, k) ?? null),
    tree(files),
  );
}

const root = '/var/lib/mock/hermetic-build/root';
const online = { installroot: root, offline: false, repoToggles: [] };

/** The invocations the real Mock logged ("DEBUG package_manager.py:NNN:  [...]"), as argv arrays. */
function mockInvocations(sample: string): string[][] {
  const log = readFileSync(join(referenceDir, 'mock-output', sample, 'hermetic-root.log'), 'utf8');
  return [...log.matchAll(/package_manager\.py:\d+:\s+(\[.*\])$/gm)].map(
    (m) => JSON.parse(m[1]!.replace(/'/g, '"')) as string[],
  );
}

test('dnf4: install and builddep exactly as the real Mock ran them (root.log)', () => {
  const pm = pmFor("config_opts['package_manager'] = 'dnf4'\n", ['usr/bin/dnf-3']);
  const logged = mockInvocations('dyn-synth');
  assert.ok(logged.length >= 3, 'the reference root.log holds the invocations');
  for (const argv of logged) {
    // Mock's subcommand comes right after the command (builddep) or after the options (install).
    const sub = argv[1] === 'builddep' ? ['builddep', ...argv.slice(10)] : argv.slice(9);
    assert.deepEqual(pmArgv(pm, online, sub), argv);
  }
  assert.deepEqual(logged[1]!.slice(0, 3), ['/usr/bin/dnf-3', 'builddep', '--installroot']);
});

test('dnf5: common options after the arguments, --allowerasing avoided where dnf5 refuses it', () => {
  const pm = pmFor("config_opts['package_manager'] = 'dnf5'\n", ['usr/bin/dnf5']);
  const opts = ['--setopt=deltarpm=False', '--setopt=allow_vendor_change=yes', '--allowerasing'];
  const inv = { installroot: '/r', releasever: '43', offline: false, repoToggles: [] };
  assert.deepEqual(pmArgv(pm, inv, ['install', '@buildsys-build']), [
    '/usr/bin/dnf5',
    '--installroot',
    '/r/',
    '--releasever',
    '43',
    'install',
    '@buildsys-build',
    ...opts,
  ]);
  assert.deepEqual(pmArgv(pm, inv, ['builddep', '/r/x.src.rpm']), [
    '/usr/bin/dnf5',
    'builddep',
    '--installroot',
    '/r/',
    '--releasever',
    '43',
    '/r/x.src.rpm',
    ...opts,
  ]);
  for (const sub of ['repoquery', 'remove', 'makecache', 'search', 'info', 'download']) {
    assert.deepEqual(pmArgv(pm, inv, [sub, 'a']), [
      '/usr/bin/dnf5',
      '--installroot',
      '/r/',
      '--releasever',
      '43',
      sub,
      'a',
      ...opts.slice(0, 2),
    ]);
  }
  assert.deepEqual(pmArgv(pm, { ...inv, offline: true, repoToggles: ['--disablerepo', '*'] }, ['upgrade']), [
    '/usr/bin/dnf5',
    '--installroot',
    '/r/',
    '-y',
    '--releasever',
    '43',
    '-C',
    '--disablerepo',
    '*',
    'upgrade',
    ...opts,
  ]);
});

test('dnf5: every dnf5_* key is read', () => {
  const pm = pmFor(
    `config_opts['package_manager'] = 'dnf5'
config_opts['dnf5_command'] = '/opt/bin/dnf5'
config_opts['dnf5_common_opts'] = ['--setopt=x=1', '--allowerasing']
config_opts['dnf5_avoid_opts'] = {'install': ['--setopt=x=1']}
config_opts['dnf5_disable_plugins'] = ['local']
config_opts['dnf5_builddep_opts'] = ['--skip-unavailable']
config_opts['dnf5_builddep_command'] = '/opt/bin/dnf5-builddep'
config_opts['forcearch'] = 'aarch64'
`,
    ['opt/bin/dnf5'],
  );
  assert.equal(pm.name, 'dnf5');
  assert.deepEqual(pm.settings.installCommand, ['install', 'dnf5', 'dnf5-plugins']);
  const inv = { installroot: '/r/', offline: false, repoToggles: [] };
  assert.deepEqual(pmArgv(pm, inv, ['install', 'a']), [
    '/opt/bin/dnf5',
    '--installroot',
    '/r/',
    'install',
    'a',
    '--allowerasing',
    '--disableplugin=local',
    '--forcearch',
    'aarch64',
  ]);
  assert.deepEqual(pmArgv(pm, inv, ['builddep', 's.src.rpm']), [
    '/opt/bin/dnf5-builddep',
    'builddep',
    '--installroot',
    '/r/',
    's.src.rpm',
    '--setopt=x=1',
    '--allowerasing',
    '--disableplugin=local',
    '--forcearch',
    'aarch64',
    '--skip-unavailable',
  ]);
});

test('dnf4 keys through their dnf_* aliases', () => {
  const pm = pmFor(
    `config_opts['dnf_command'] = '/usr/bin/dnf'
config_opts['dnf_common_opts'] = []
config_opts['dnf_disable_plugins'] = ['local']
config_opts['dnf_builddep_opts'] = ['--spec']
`,
    ['usr/bin/dnf'],
  );
  assert.equal(pm.name, 'dnf4');
  assert.deepEqual(pmArgv(pm, online, ['builddep', 'x.spec']), [
    '/usr/bin/dnf',
    'builddep',
    '--installroot',
    `${root}/`,
    '--disableplugin=local',
    '--spec',
    'x.spec',
  ]);
});

test('yum: yum-builddep is the whole builddep command, options before the subcommand', () => {
  const pm = pmFor("config_opts['package_manager'] = 'yum'\nconfig_opts['yum_common_opts'] = ['-q']\n", [
    'usr/bin/yum',
  ]);
  assert.equal(pm.name, 'yum');
  assert.deepEqual(pmArgv(pm, online, ['install', 'a']), [
    '/usr/bin/yum',
    '--installroot',
    `${root}/`,
    '-q',
    'install',
    'a',
  ]);
  assert.deepEqual(pmArgv(pm, online, ['builddep', 'x.src.rpm']), [
    '/usr/bin/yum-builddep',
    '--installroot',
    `${root}/`,
    '-q',
    'x.src.rpm',
  ]);
});

test("fallback order is Mock's, and a command must really be that manager", () => {
  const logs: string[] = [];
  const config = configWith("config_opts['package_manager'] = 'dnf5'\n");
  const pmConfig = pmConfigFrom((k) => expandedOption(config, k) ?? null);
  const dnf4Only = tree(['usr/bin/dnf-3']);
  assert.equal(findPackageManager(pmConfig, dnf4Only, (m) => logs.push(m)).name, 'dnf4');
  assert.deepEqual(logs, ["Using 'dnf4' instead of 'dnf5'"]);
  // /usr/bin/yum pointing at dnf is not yum; an absolute link is followed inside the tree only.
  const yumIsDnf = tree(['usr/bin/dnf-3', 'usr/bin/yum -> /usr/bin/dnf-3']);
  const yumConfig = { ...pmConfig, packageManager: 'yum' };
  assert.equal(findPackageManager(yumConfig, yumIsDnf).name, 'dnf4');
  const linked = tree(['usr/libexec/dnf5/dnf5', 'usr/bin/dnf5 -> /usr/libexec/dnf5/dnf5']);
  assert.equal(findPackageManager(pmConfig, linked).command, '/usr/bin/dnf5');
  const dangling = tree(['usr/bin/dnf5 -> /usr/bin/nothing']);
  assert.throws(
    () => findPackageManager(pmConfig, dangling),
    (e: unknown) =>
      e instanceof IsomockError && /looked for \/usr\/bin\/dnf5, \/usr\/bin\/dnf-3, \/usr\/bin\/yum/.test(e.message),
  );
});

test('microdnf is refused with a clear error', () => {
  const config = configWith("config_opts['package_manager'] = 'microdnf'\n");
  assert.throws(
    () =>
      findPackageManager(
        pmConfigFrom((k) => expandedOption(config, k) ?? null),
        tree(['usr/bin/microdnf']),
      ),
    (e: unknown) => e instanceof IsomockError && /'microdnf' is not supported/.test(e.message),
  );
});

test("a bootstrap made without an image runs the system command, as Mock's get_command() picks it", () => {
  const text = `config_opts['package_manager'] = 'dnf5'
config_opts['dnf5_system_command'] = '/usr/local/bin/dnf5'
config_opts['use_bootstrap'] = True
`;
  const withImage = pmFor(`${text}config_opts['use_bootstrap_image'] = True\n`, ['usr/bin/dnf5']);
  assert.equal(withImage.command, '/usr/bin/dnf5');
  const without = pmFor(`${text}config_opts['use_bootstrap_image'] = False\n`, ['usr/local/bin/dnf5']);
  assert.equal(without.command, '/usr/local/bin/dnf5');
});
