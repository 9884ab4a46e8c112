import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './helpers/paths.js';
import { defaultConfig } from '../src/config/defaults.js';
import { expandAll, renderDebugConfig } from '../src/config/debug.js';
import {
  applyRepoToggles,
  basearch,
  parseDnfConf,
  renderDnfConf,
  reposOf,
  substituteVars,
} from '../src/config/dnfconf.js';
import { loadConfig } from '../src/config/load.js';
import { mockOptions } from '../src/config/options.js';
import { parseConfigOpts } from '../src/config/cmdline.js';
import { pformat } from '../src/python/pformat.js';
import { pyRepr, type PyDict } from '../src/python/value.js';
import { runConfigFile } from '../src/config/source.js';
import { expandString } from '../src/config/template.js';
import { ExitCode, IsomockError } from '../src/errors.js';

const run = promisify(execFile);
const fixtures = join(repoRoot, 'test', 'fixtures', 'config');
const etc = join(fixtures, 'etc');
const scratch = mkdtempSync(join(tmpdir(), 'isomock-config-test-'));
const home = join(scratch, 'home');
mkdirSync(home);
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Options with every pformat()ted value, keyed and sorted as the oracle prints them. */
function dump(config: PyDict): [string, string][] {
  return Object.keys(config)
    .sort()
    .map((k) => [k, pformat(config[k]!)]);
}

/** Python executes the same file on the same starting options (and Jinja2 expands them). */
async function oracle(
  file: string,
  initial: PyDict,
): Promise<{ raw: [string, string][]; expanded: [string, string][] }> {
  const init = join(scratch, `init-${Math.random().toString(36).slice(2)}.py`);
  writeFileSync(init, pyRepr(initial, true));
  const { stdout } = await run('python3', [join(fixtures, 'oracle.py'), file, etc, init], { maxBuffer: 64 << 20 });
  return JSON.parse(stdout) as { raw: [string, string][]; expanded: [string, string][] };
}

function startingOptions(): PyDict {
  const config = defaultConfig();
  config['target_arch'] = 'x86_64';
  return config;
}

function assertSame(ours: [string, string][], theirs: [string, string][]): void {
  assert.deepEqual(
    ours.map(([k]) => k),
    theirs.map(([k]) => k),
  );
  for (const [i, [key, value]] of ours.entries()) assert.equal(value, theirs[i]![1], `config_opts['${key}']`);
}

function configErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof IsomockError, `expected an IsomockError, got ${String(err)}`);
    assert.equal(err.exitCode, ExitCode.config);
    return err.message;
  }
  assert.fail('no error was raised');
}

function writeCfg(name: string, text: string): string {
  const file = join(scratch, name);
  writeFileSync(file, text);
  return file;
}

test('every literal and statement form reads as python3 executes it (values and pformat layout)', async () => {
  const config = startingOptions();
  const theirs = await oracle(join(etc, 'literals.cfg'), config);
  runConfigFile(config, join(etc, 'literals.cfg'), etc);
  assertSame(dump(config), theirs.raw);
  assert.equal(config['s_raw'], 'C:\\new\\table\\d+');
  assert.equal(config['dnf4_install_command'], 'install python3-dnf python3-dnf-plugins-core extra');
});

for (const name of ['distro+extra-9-x86_64', 'rolling-x86_64', 'rolling-i686']) {
  test(`${name}.cfg: options and their Jinja expansion match python3 + Jinja2`, async () => {
    const file = join(etc, `${name}.cfg`);
    const config = startingOptions();
    const theirs = await oracle(file, config);
    runConfigFile(config, file, etc);
    assertSame(dump(config), theirs.raw);
    assertSame(dump(expandAll(config)), theirs.expanded);
  });
}

test('a Mock-shaped chroot config expands to the expected repositories', () => {
  const config = startingOptions();
  runConfigFile(config, join(etc, 'rolling-x86_64.cfg'), etc);
  const expanded = expandAll(config);
  assert.equal(expanded['chroot_setup_cmd'], 'install @buildsys-build');
  const conf = parseDnfConf(String(expanded['dnf.conf']));
  const [local, rolling] = reposOf(conf);
  assert.equal(local!.enabled, false, 'enabled={{ not mirrored }} prints False');
  assert.deepEqual(rolling!.gpgkey, [
    'file:///usr/share/keys/RPM-GPG-KEY-rolling-$releasever-primary',
    'file:///usr/share/keys/RPM-GPG-KEY-rolling-45-primary',
    'file:///usr/share/keys/RPM-GPG-KEY-rolling-44-primary',
  ]);
  assert.equal(conf.main.options.get('excludepkgs'), '*.i586,*.i686');
});

test('load order: defaults, site-defaults.cfg, chroot-aliases.cfg, the chroot config, ~/.config/mock.cfg, command line', () => {
  const userHome = join(scratch, 'home-order');
  mkdirSync(join(userHome, '.config'), { recursive: true });
  writeFileSync(
    join(userHome, '.config', 'mock.cfg'),
    "config_opts['description'] = 'from the user'\nconfig_opts['rpmbuild_timeout'] = 60\n",
  );
  const loaded = loadConfig({
    root: 'distro+extra-9-x86_64',
    configDir: etc,
    systemDirs: [],
    home: userHome,
    cmdline: {
      configOpts: [
        'rpmbuild_timeout=120',
        'flag=False',
        'nothing=none',
        'list=a',
        'list=b',
        'one=x',
        'one=',
        'text=0x10',
      ],
      defines: ['with_tests 1', '%vendor Acme Corp'],
      with: ['docs'],
      resultdir: '~/results',
      uniqueext: 'u1',
      addrepo: ['http://127.0.0.1:9/extra-repo/', 'http://127.0.0.1:9/extra-repo/'],
    },
  });
  const raw = loaded.raw;
  assert.equal(raw['cache_topdir'], '/var/cache/isomock-fixture');
  assert.equal(pyRepr(raw['plugin_conf']!).includes("'compress_program': 'zstd'"), true);
  assert.ok('distro-8' in (raw['no-config'] as PyDict));
  assert.equal(raw['description'], 'from the user');
  assert.equal(raw['rpmbuild_timeout'], 120);
  assert.equal(raw['flag'], false);
  assert.equal(raw['nothing'], null);
  assert.deepEqual(raw['list'], ['a', 'b']);
  assert.deepEqual(raw['one'], ['x']);
  assert.equal(raw['text'], '0x10');
  assert.equal((raw['macros'] as PyDict)['%with_tests'], '1');
  assert.equal((raw['macros'] as PyDict)['%vendor'], 'Acme Corp');
  assert.equal((raw['macros'] as PyDict)['%_with_docs'], '--with-docs');
  assert.equal(raw['resultdir'], join(userHome, 'results'));
  assert.equal(raw['unique-ext'], 'u1');
  assert.equal(raw['rpmbuild_arch'], 'x86_64');
  assert.equal(raw['repo_arch'], 'x86_64');
  assert.deepEqual(loaded.files, [
    ...[
      'site-defaults.cfg',
      'chroot-aliases.cfg',
      'distro+extra-9-x86_64.cfg',
      'templates/distro-9.tpl',
      'templates/extra-9.tpl',
    ].map((f) => join(etc, f)),
    join(userHome, '.config', 'mock.cfg'),
  ]);
  // --addrepo appends to the expanded dnf.conf, with Mock's repo ids.
  const repos = reposOf(parseDnfConf(String(raw['dnf.conf'])));
  assert.deepEqual(
    repos.map((r) => r.id),
    ['base', 'updates', 'extra', 'local', '1270019_extrarepo_', '1270019_extrarepo_1'],
  );
  assert.deepEqual(
    [repos[4]!.baseurl, repos[4]!.cost, repos[4]!.gpgcheck],
    [['http://127.0.0.1:9/extra-repo/'], 1, false],
  );
});

test('-r with a .cfg path reads that file; a missing config names every place searched', () => {
  const file = writeCfg('direct.cfg', "config_opts['root'] = 'direct'\ninclude('templates/distro-9.tpl')\n");
  const loaded = loadConfig({ root: file, configDir: etc, systemDirs: [], home });
  assert.equal(loaded.raw['chroot_name'], 'direct');
  assert.equal(loaded.raw['releasever'], '9');
  const message = configErrorOf(() =>
    loadConfig({ root: 'no-such', configDir: etc, systemDirs: ['/nonexistent/isomock'], home }),
  );
  assert.match(message, /no-such\.cfg/);
  assert.ok(
    message.includes(etc) &&
      message.includes('/nonexistent/isomock') &&
      message.includes(join(home, '.config', 'mock')),
  );
  assert.match(
    configErrorOf(() => loadConfig({ configDir: etc, systemDirs: [], home })),
    /forget to specify the chroot/,
  );
});

test('constructs outside the subset are refused with file:line and what they are', () => {
  const cases: [string, RegExp][] = [
    ["config_opts['a'] = 1\nimport os\n", /:2: unsupported Python construct: an 'import' statement/],
    ["if True:\n    config_opts['a'] = 1\n", /:1: unsupported Python construct: an 'if' statement/],
    ["config_opts['a'] = [x for x in 'ab']\n", /:1: unsupported Python construct: a list comprehension/],
    ["config_opts['a'] = f'{1}'\n", /:1: f-strings are not supported/],
    ["config_opts['a'] = '%s' % 'x'\n", /:1: unsupported Python construct: '%' string formatting/],
    ["config_opts['a'] = os.environ.get('X')\n", /:1: name 'os' is not defined/],
    ["config_opts['a'] = 'x'.upper()\n", /:1: unsupported Python construct: method str\.upper\(\)/],
    ["config_opts['a'] = (1,\n  2\n", /:3: unexpected end of file: a bracket is never closed/],
    ["config_opts['a'] = 'open\n", /:1: unterminated string literal/],
    ["  config_opts['a'] = 1\n", /:1: unexpected indent/],
    [
      "config_opts['a'] = 1\nconfig_opts['b'] = config_opts['nope']['x']\n",
      /:2: config_opts\['nope'\] is not set \(KeyError\)/,
    ],
    ["config_opts['a'] = 1 +\n", /:1: invalid syntax/],
    ["config_opts['a'] = {1: 2}\n", /:1: dictionary keys must be strings/],
  ];
  for (const [i, [text, expected]] of cases.entries()) {
    const file = writeCfg(`bad-${i}.cfg`, text);
    const message = configErrorOf(() => runConfigFile(defaultConfig(), file, etc));
    assert.ok(message.startsWith(file + ':'), message);
    assert.match(message, expected);
  }
});

test('errors inside an included file point at that file and line; missing includes and loops are reported', () => {
  mkdirSync(join(scratch, 'inc'), { recursive: true });
  writeFileSync(join(scratch, 'inc', 'bad.tpl'), "config_opts['ok'] = 1\n\nconfig_opts['bad'] = lambda: 1\n");
  const top = writeCfg('inc/top.cfg', "config_opts['x'] = 1\ninclude('bad.tpl')\n");
  assert.match(
    configErrorOf(() => runConfigFile(defaultConfig(), top, join(scratch, 'inc'))),
    /inc\/bad\.tpl:3: unsupported Python construct: a lambda/,
  );
  const missing = writeCfg('inc/missing.cfg', "\ninclude('templates/none.tpl')\n");
  assert.match(
    configErrorOf(() => runConfigFile(defaultConfig(), missing, join(scratch, 'inc'))),
    /missing\.cfg:2: could not find included config file .*templates\/none\.tpl/,
  );
  writeFileSync(join(scratch, 'inc', 'loop-a.tpl'), "config_opts['a'] = 1\ninclude('loop-b.tpl')\n");
  writeFileSync(join(scratch, 'inc', 'loop-b.tpl'), "include('loop-a.tpl')\nconfig_opts['b'] = 2\n");
  const config = defaultConfig();
  const source = runConfigFile(config, join(scratch, 'inc', 'loop-a.tpl'), join(scratch, 'inc'));
  assert.equal(config['b'], 2);
  assert.match(source.warnings.join('\n'), /loop-b\.tpl:1: multiple inclusion of .*loop-a\.tpl, skipping/);
});

test('Jinja: Python spellings of values, the sandbox, and runaway recursion', () => {
  const ctx = defaultConfig();
  ctx['flag'] = false;
  ctx['items'] = ['a', 'b'];
  assert.equal(
    expandString('{{ flag }} {{ none_value }}{{ None }} {{ items }} {{ 7 / 2 }}', ctx, 't'),
    "False None ['a', 'b'] 3.5",
  );
  assert.match(
    configErrorOf(() => expandString("{{ ''.constructor.constructor('return 1')() }}", ctx, 't')),
    /Unable to call/,
  );
  assert.equal(expandString("{{ ''.constructor }}{{ items._secret }}", ctx, 't'), '');
  ctx['a'] = '{{ b }}x';
  ctx['b'] = '{{ a }}';
  assert.match(
    configErrorOf(() => expandString('{{ a }}', ctx, 'a')),
    /config_opts\['a'\]: too deep Jinja re-evaluation/,
  );
  assert.match(
    configErrorOf(() => expandString('{% if %}', ctx, 'bad')),
    /config_opts\['bad'\]: cannot expand its Jinja template/,
  );
});

test('dnf.conf: repositories typed as dnf reads them, variables substituted, rendered back', () => {
  const config = startingOptions();
  runConfigFile(config, join(etc, 'distro+extra-9-x86_64.cfg'), etc);
  const text = String(expandAll(config)['dnf.conf']);
  const conf = parseDnfConf(substituteVars(text, { basearch: basearch('i686'), releasever: '9' }));
  const [base, updates, extra, local] = reposOf(conf);
  assert.deepEqual(base!.baseurl, ['http://127.0.0.1:1/distro/9/base/i386/', 'http://127.0.0.1:2/distro/9/base/i386/']);
  assert.equal(base!.gpgcheck, true, 'gpgcheck comes from [main]');
  assert.equal(base!.skipIfUnavailable, false);
  assert.deepEqual(
    [updates!.priority, updates!.cost, updates!.metalink],
    [10, 500, 'http://127.0.0.1:1/metalink?repo=updates-9&arch=i386'],
  );
  assert.deepEqual([base!.priority, base!.cost, base!.enabled], [99, 1000, true]);
  assert.equal(extra!.mirrorlist, 'http://127.0.0.1:1/mirrorlist?repo=extra-9&arch=i386');
  assert.deepEqual(extra!.excludepkgs, ['*.i686', 'bad-pkg']);
  assert.deepEqual(extra!.includepkgs, ['good-*']);
  assert.deepEqual([local!.id, local!.enabled, local!.moduleHotfixes], ['local', false, true]);
  assert.equal(conf.main.options.get('user_agent'), 'Mock (distro+extra-9-x86_64; x86_64)');
  assert.deepEqual(reposOf(parseDnfConf(renderDnfConf(conf))), reposOf(conf));
  applyRepoToggles(conf, ['--disablerepo', '*', '--enablerepo', 'ext*,local']);
  assert.deepEqual(
    reposOf(conf).map((r) => r.enabled),
    [false, false, true, true],
  );
  assert.match(
    configErrorOf(() => applyRepoToggles(conf, ['--enablerepo', 'nope'])),
    /--enablerepo nope: no repository/,
  );
  assert.match(
    configErrorOf(() => reposOf(parseDnfConf('[r]\nenabled=maybe\n'))),
    /\[r\] enabled: "maybe" is not a boolean/,
  );
  assert.match(
    configErrorOf(() => parseDnfConf('\nkeepcache=1\n')),
    /line 2: option "keepcache" before any \[section\]/,
  );
  assert.equal(basearch('armv7hl'), 'armhfp');
  assert.equal(substituteVars('${basearch}/$unknown', { basearch: 'x86_64' }), 'x86_64/$unknown');
});

test('--config-opts values are parsed as Mock parses them', () => {
  const v = parseConfigOpts(['a=True', 'b=false', 'c=12', 'd= -3 ', 'e=1.5', 'f=', 'g=x=y']);
  assert.deepEqual(
    [...v],
    [
      ['a', true],
      ['b', false],
      ['c', 12],
      ['d', -3],
      ['e', '1.5'],
      ['f', ''],
      ['g', 'x=y'],
    ],
  );
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(join(repoRoot, 'bin', 'isomock'), args, {
      env: { ...process.env, HOME: home },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('isomock --debug-config prints the options that differ from the defaults, as Mock does', async () => {
  const r = await cli('-r', 'rolling-x86_64', '--configdir', etc, '--debug-config', '--define', 'dist .r45');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('config_opts['));
  const keys = lines.map((l) => /^config_opts\['([^']+)'\]/.exec(l)![1]!);
  assert.deepEqual(keys, [...keys].sort());
  assert.ok(r.stdout.includes("config_opts['root'] = 'rolling-{{ target_arch }}'\n"));
  assert.ok(r.stdout.includes("config_opts['mirrored'] = True\n"));
  assert.ok(r.stdout.includes("'%dist': '.r45'"));
  assert.ok(!keys.includes('basedir'), 'unchanged defaults are not printed');
  const expanded = await cli('-r', 'rolling-x86_64', '--configdir', etc, '--debug-config-expanded');
  assert.equal(expanded.code, 0, expanded.stderr);
  assert.ok(expanded.stdout.includes("config_opts['root'] = 'rolling-x86_64'\n"));
  assert.ok(expanded.stdout.includes("config_opts['resultdir'] = '/var/lib/mock/rolling-x86_64/result'\n"));
  const json = await cli('-r', 'rolling-x86_64', '--configdir', etc, '--debug-config-expanded', '--json');
  const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.equal(parsed['root'], 'rolling-x86_64');
  assert.deepEqual(parsed['legal_host_arches'], ['x86_64']);
  assert.equal(parsed['basedir'], '/var/lib/mock');
});

test("Mock's bootstrap, plugin and package options reach the config as Mock sets them", async () => {
  const json = async (...extra: string[]): Promise<Record<string, any>> => {
    const r = await cli('-r', 'rolling-x86_64', '--configdir', etc, '--debug-config', '--json', ...extra);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, any>;
  };
  const on = await json(
    '--use-bootstrap-image',
    '--additional-package',
    'vim',
    '--additional-package',
    'tar',
    '--enable-plugin',
    'buildroot_lock',
    '--disable-plugin',
    'ccache',
    '--plugin-option',
    'tmpfs:keep_mounted=True',
    '-N',
  );
  assert.equal(on['use_bootstrap'], true);
  assert.equal(on['use_bootstrap_image'], true);
  assert.deepEqual(on['additional_packages'], ['vim', 'tar']);
  assert.equal(on['plugin_conf']['buildroot_lock_enable'], true);
  assert.equal(on['plugin_conf']['ccache_enable'], false);
  assert.equal(on['plugin_conf']['tmpfs_opts']['keep_mounted'], true);
  assert.equal(on['cleanup_on_success'], false);
  const off = await json('--no-bootstrap-chroot', '--no-bootstrap-image');
  assert.equal(off['use_bootstrap'], false);
  assert.equal(off['use_bootstrap_image'], false);
  const bad = await cli('-r', 'rolling-x86_64', '--configdir', etc, '--debug-config', '--plugin-option', 'nonsense');
  assert.equal(bad.code, 5);
});

test('isomock --debug-config fails with exit code 3 and file:line on a broken config', async () => {
  writeCfg('broken.cfg', "config_opts['root'] = 'b'\nfor x in []: pass\n");
  const r = await cli('-r', 'broken', '--configdir', scratch, '--debug-config');
  assert.equal(r.code, 3);
  assert.match(r.stderr, /^isomock: error: .*broken\.cfg:2: unsupported Python construct: a 'for' loop/);
  const missing = await cli('-r', 'absent', '--configdir', scratch, '--debug-config');
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /Mock config 'absent' not found/);
});

test('debug rendering of a loaded config has one line per changed option', () => {
  const loaded = loadConfig({ root: 'rolling-i686', configDir: etc, systemDirs: [], home });
  const text = renderDebugConfig(loaded);
  assert.ok(text.includes("config_opts['mirrored'] = False\n"));
  assert.ok(text.includes("config_opts['legal_host_arches'] = ('i386', 'i686', 'x86_64')\n"));
});

test('mockOptions(): typed, expanded options with the --uniqueext root and substituted repositories', () => {
  const loaded = loadConfig({
    root: 'distro+extra-9-x86_64',
    configDir: etc,
    systemDirs: [],
    home,
    cmdline: { uniqueext: 'job7', repoToggles: ['--disablerepo', '*'], offline: true },
  });
  const o = mockOptions(loaded.raw);
  assert.equal(o.root, 'distro+extra-9-x86_64-job7');
  assert.equal(o.rootdir, '/var/lib/mock/distro+extra-9-x86_64-job7/root');
  assert.equal(o.resultdir, '/var/lib/mock/distro+extra-9-x86_64-job7/result');
  assert.deepEqual([o.targetArch, o.repoArch, o.rpmbuildArch, o.releasever], ['x86_64', 'x86_64', 'x86_64', '9']);
  assert.deepEqual(o.chrootSetupCmd, ['install', 'bash', 'coreutils', 'rpm-build', 'extra-rpm-macros']);
  assert.deepEqual([o.bootstrapImage, o.bootstrapImageReady, o.online], ['localhost/distro:9', true, false]);
  assert.deepEqual(o.enableDisableRepos, ['--disablerepo', '*']);
  assert.equal(o.macros['%dist'], '.dst9%(sh -c ". /etc/os-release; echo \\$VERSION_ID")');
  assert.equal(reposOf(o.dnfConf)[0]!.baseurl[0], 'http://127.0.0.1:1/distro/9/base/x86_64/');
  assert.equal(loaded.raw['root'], 'distro+extra-9-x86_64', 'the loaded dictionary is not changed');
});
