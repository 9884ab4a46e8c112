/**
 * The pure decisions behind Mock's everyday options and default plugins:
 * Python's glob matching (--copyout), rpmbuild's final mode
 * (--short-circuit), which plugins run or are refused (plugin_conf), and
 * how the options land in the config (read back with --debug-config
 * through ./bin/isomock, from a scratch config: nothing is built).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isomock } from '../helpers/isomock.js';
import { fnmatch } from '../../src/util/fnmatch.js';
import { finalRpmbuildMode } from '../../src/buildroot/rpmbuild.js';
import { pluginPlan } from '../../src/config/plugins.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { isDict, type PyDict, type PyValue } from '../../src/python/value.js';
import { IsomockError } from '../../src/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'isomock-everyday-options-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
writeFileSync(
  join(scratch, 'demo.cfg'),
  [
    "config_opts['root'] = 'demo'",
    "config_opts['target_arch'] = 'x86_64'",
    "config_opts['legal_host_arches'] = ('x86_64',)",
    `config_opts['basedir'] = '${join(scratch, 'base')}'`,
    "config_opts['dnf.conf'] = '[main]\\n'",
    '',
  ].join('\n'),
);
const demo = ['--configdir', scratch, '-r', 'demo'];

test("fnmatch matches one path component as Python's glob does", () => {
  const cases: [string, string, boolean][] = [
    ['a.log', '*.log', true],
    ['.hidden.log', '*.log', false],
    ['.hidden.log', '.*.log', true],
    ['core.12', 'core.??', true],
    ['core.1', 'core.??', false],
    ['b', '[abc]', true],
    ['d', '[!abc]', true],
    ['a', '[!abc]', false],
    ['x-y', '[w-z]-?', true],
    ['[x', '[x', true],
    ['a.b', 'a?b', true],
    ['a+b', 'a+b', true],
    ['ab', 'a+b', false],
    ['a]', '[]]', false],
    [']', '[]]', true],
  ];
  for (const [name, pattern, want] of cases) assert.equal(fnmatch(name, pattern), want, `${name} ~ ${pattern}`);
});

test("--short-circuit's rpmbuild mode is Mock's rebuild_package() choice", () => {
  assert.deepEqual(finalRpmbuildMode(false), ['-bb']);
  assert.deepEqual(finalRpmbuildMode(true), ['-ba', '--noprep']);
  assert.deepEqual(finalRpmbuildMode(false, 'install'), ['-bi', '--short-circuit']);
  assert.deepEqual(finalRpmbuildMode(false, 'prep'), ['-bp', '--short-circuit']);
  assert.deepEqual(finalRpmbuildMode(false, 'build'), ['-bc', '--short-circuit']);
  assert.deepEqual(finalRpmbuildMode(true, 'binary'), ['-bb', '--short-circuit', '--noprep']);
});

/** Mock's defaults with plugin_conf entries changed. */
function withPlugins(changes: Record<string, PyValue>, opts: Record<string, Record<string, PyValue>> = {}): PyDict {
  const config = defaultConfig(1000);
  const conf = config['plugin_conf'] as PyDict;
  Object.assign(conf, changes);
  for (const [plugin, values] of Object.entries(opts)) {
    const o = conf[`${plugin}_opts`];
    assert.ok(isDict(o));
    Object.assign(o, values);
  }
  return config;
}

test("Mock's default plugins: what runs, root_cache with Mock's options", () => {
  const plan = pluginPlan(withPlugins({}));
  assert.equal(plan.hwInfo, true);
  assert.equal(plan.installedPkgs, true);
  assert.equal(plan.availablePkgs, false);
  assert.equal(plan.expandSpec, undefined);
  assert.equal(plan.chrootScan, undefined);
  assert.deepEqual(plan.rootCache, {
    dir: '/var/cache/mock/root_cache',
    ageCheck: true,
    maxAgeDays: 15,
    compress: 'pigz',
    fileName: 'cache.tar.gz',
    excludeDirs: ['./proc', './sys', './dev', './tmp/ccache', './var/cache/yum', './var/cache/dnf', './var/log'],
    cacheAlterations: false,
  });
  assert.equal(pluginPlan(withPlugins({ root_cache_enable: false })).rootCache, undefined);
  const on = pluginPlan(
    withPlugins(
      { expand_spec_enable: true, chroot_scan_enable: true, hw_info_enable: false },
      { package_state: { available_pkgs: true }, chroot_scan: { only_failed: false, write_tar: 'True' } },
    ),
  );
  assert.equal(on.availablePkgs, true);
  assert.equal(on.hwInfo, false);
  assert.deepEqual(on.expandSpec, { rpmspecOpts: [] });
  // Mock compares str(option) with 'True': False and the string 'True' are what count.
  assert.equal(on.chrootScan?.onlyFailed, false);
  assert.equal(on.chrootScan?.writeTar, true);
  assert.ok(on.chrootScan?.regexes.some((r) => r.test('dnf.log')));
  assert.ok(on.chrootScan?.regexes.some((r) => r.test('core.123')));
  assert.ok(!on.chrootScan?.regexes.some((r) => r.test('kcore')));
});

test('a plugin isomock does not run, when enabled, is refused with exit 5', () => {
  const refused = (config: PyDict, pattern: RegExp): void =>
    assert.throws(
      () => pluginPlan(config),
      (err: unknown) => err instanceof IsomockError && err.exitCode === 5 && pattern.test(err.message),
    );
  for (const plugin of ['tmpfs', 'ccache', 'lvm_root', 'overlayfs', 'sign', 'compress_logs', 'unbreq']) {
    refused(
      withPlugins({ [`${plugin}_enable`]: true }),
      new RegExp(`^plugin ${plugin} .* is not supported by isomock$`),
    );
  }
  // mount and bind_mount are on by default; with nothing to mount they have nothing to do.
  assert.doesNotThrow(() => pluginPlan(withPlugins({})));
  refused(withPlugins({}, { bind_mount: { dirs: [['/srv', '/srv']] } }), /plugin bind_mount/);
  refused(withPlugins({}, { mount: { dirs: [['tmpfs', '/tmp', 'tmpfs']] } }), /plugin mount/);
  refused(withPlugins({ chroot_scan_enable: true }, { chroot_scan: { regexes: ['(?P<x>a)'] } }), /Python-only/);
});

/** --debug-config's value lines for the given options. */
async function debugConfig(...extra: string[]): Promise<string> {
  const r = await isomock([...demo, ...extra, '--debug-config']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

test('the everyday options set the config keys Mock sets', async () => {
  const sc = await debugConfig('--short-circuit', 'install');
  assert.match(sc, /^config_opts\['short_circuit'\] = 'install'$/m);
  assert.match(sc, /^config_opts\['clean'\] = False$/m);
  assert.match(await debugConfig('--rpmbuild-opts', '--with foo'), /^config_opts\['rpmbuild_opts'\] = '--with foo'$/m);
  assert.match(await debugConfig('--postinstall'), /^config_opts\['post_install'\] = True$/m);
  assert.doesNotMatch(await debugConfig(), /short_circuit|rpmbuild_opts/);
  const plugins = await debugConfig('--disable-plugin', 'hw_info', '--enable-plugin', 'hw_info');
  assert.match(plugins, /'hw_info_enable': True/, 'an enable wins over a disable, as in Mock');
});

test('wrong values of the everyday options: one line, exit 5, Mock wording', async () => {
  for (const [extra, message] of [
    [
      ['--short-circuit', 'all'],
      "option --short-circuit: invalid choice: 'all' (choose from 'prep', 'install', 'build', 'binary')",
    ],
    [['--enable-plugin', 'nope'], /^Bad option for '--enable-plugin=nope'. Expecting one of: \['tmpfs', /],
    [['--disable-plugin', 'nope'], /^Bad option for '--disable-plugin=nope'/],
    [['--plugin-option', 'nope:a=b'], "Bad option for '--plugin-option' (nope:a=b).  No such plugin: nope"],
    [
      ['--plugin-option', 'hw_info'],
      "Bad option for '--plugin-option' (hw_info).  Use --plugin-option 'plugin:key=value'",
    ],
  ] as const) {
    const r = await isomock([...demo, ...extra, '--debug-config']);
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.stderr.split('\n').length, 2, r.stderr);
    const line = r.stderr.replace(/^isomock: error: /, '').trimEnd();
    if (typeof message === 'string') assert.equal(line, message);
    else assert.match(line, message);
  }
});
