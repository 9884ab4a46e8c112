/**
 * isomock as a drop-in for Mock under its three big callers (issue 16): each
 * caller's exact sequence of calls, by the names `mock` and
 * `mock-hermetic-repo`, run as an unprivileged member of group `mock` (through
 * scripts/install-mock-group's sudoers drop-in), on the demo world, with the
 * configs the callers' own generators made (test/fixtures/callers/), and what
 * each caller reads back. The test user's ~/.config/mock.cfg moves basedir and
 * cache_topdir into the scratch dir, so every command line is the caller's own.
 * With ISOMOCK_BIN set (an older build) `mock` is that build's isomock.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './helpers/paths.js';
import { createMockCaller, type MockCaller } from './helpers/mock-caller.js';
import { serveWorld, type ServedWorld } from './helpers/world.js';

let world: ServedWorld;
let scratch: string;
let caller: MockCaller;

const fixture = (name: string): string => readFileSync(join(repoRoot, 'test', 'fixtures', 'callers', name), 'utf8');
const srpmOf = (name: string): string =>
  join(world.world.dir, world.world.manifest.srpms.find((s) => s.name === name)!.file);
const lib = (): string => join(scratch, 'lib');

before(async () => {
  world = await serveWorld();
  scratch = mkdtempSync('/tmp/isomock-dropin-test-');
  chmodSync(scratch, 0o755);
  caller = createMockCaller(scratch);
  // The builder's own Mock settings: where roots and caches live (Mock reads ~/.config/mock.cfg after the chroot config).
  mkdirSync(join(caller.home, '.config', 'mock', 'koji'), { recursive: true });
  writeFileSync(
    join(caller.home, '.config', 'mock.cfg'),
    `config_opts['basedir'] = '${lib()}'\nconfig_opts['cache_topdir'] = '${join(scratch, 'cache')}'\n`,
  );
  // kojid writes /etc/mock/koji/NAME.cfg; Mock looks in ~/.config/mock/ first, where the test user's copy is.
  const base = world.url;
  writeFileSync(
    join(caller.home, '.config', 'mock', 'koji', 'world-build-7-1.cfg'),
    fixture('koji-world-build-7-1.cfg').replace(
      'http://koji.invalid/kojifiles/repos/world-build/1/x86_64',
      `${base}base/\\n        ${base}updates/`,
    ),
  );
  // The Copr builder's /etc/mock: the chroot config child.cfg includes by its absolute path.
  etcMockConfig(world, join(scratch, 'etc-mock'));
  chmodSync(world.configDir, 0o755);
  for (const d of [
    join(caller.home, '.config'),
    join(caller.home, '.config', 'mock'),
    join(caller.home, '.config', 'mock', 'koji'),
  ])
    chownSync(d, caller.uid, caller.gid);
});
after(async () => {
  caller?.remove();
  await world?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * The world's chroot config as a builder's /etc/mock holds it: its include()
 * of templates/ made absolute (Mock resolves a relative one against
 * /etc/mock, not against the including file). Returns the config's path.
 */
function etcMockConfig(served: ServedWorld, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'world-1-x86_64.cfg');
  const text = readFileSync(join(served.configDir, 'world-1-x86_64.cfg'), 'utf8');
  writeFileSync(file, text.replace("include('templates/", `include('${served.configDir}/templates/`));
  return file;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The binary a caller runs by name: this checkout's bin/NAME, or ISOMOCK_BIN (+ isolated-repo) for an older build. */
function binary(name: 'mock' | 'mock-hermetic-repo'): string[] {
  const old = process.env['ISOMOCK_BIN'];
  if (old) return name === 'mock' ? [old] : [old, 'isolated-repo'];
  return [join(repoRoot, 'bin', name)];
}

/** Starts NAME ARGS as the caller would (as the test user, its own environment); `during` may signal it. */
function start(
  name: 'mock' | 'mock-hermetic-repo',
  args: string[],
  wrapper = caller.wrapper,
): { pid: number; done: Promise<Run> } {
  const argv = [...wrapper, ...binary(name), ...args];
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: scratch,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: caller.home, LANG: 'C.UTF-8' },
  });
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : 128), stdout, stderr }));
  });
  return { pid: child.pid!, done };
}

async function mock(args: string[], name: 'mock' | 'mock-hermetic-repo' = 'mock'): Promise<Run> {
  return start(name, args).done;
}

function ok(r: Run, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}`);
}

/** Names in dir, sorted. */
const list = (dir: string): string[] => readdirSync(dir).sort();

/** A spec with a source file, in a directory the test user owns (Copr's and Konflux's checkouts). */
function specDir(name: string, buildScript = 'synth-tool > out.txt'): { spec: string; sources: string } {
  const dir = join(scratch, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'note.txt'), `from --sources of ${name}\n`);
  writeFileSync(
    join(dir, `${name}.spec`),
    `Name: ${name}
Version: 1.0
Release: 1%{?dist}
License: MIT
Summary: built from --spec and --sources
Source0: note.txt
BuildRequires: synth-devel
BuildRequires: /usr/bin/synth-tool
%description
Built from a spec and a source, as Copr and Konflux build.
%prep
cp %{SOURCE0} .
%build
${buildScript}
%install
install -D -m 0644 note.txt %{buildroot}/usr/share/${name}/note.txt
install -D -m 0644 out.txt %{buildroot}/usr/share/${name}/out.txt
%files
/usr/share/${name}
`,
  );
  for (const f of ['', 'note.txt', `${name}.spec`]) chownSync(join(dir, f), caller.uid, caller.gid);
  return { spec: join(dir, `${name}.spec`), sources: dir };
}

/** The host's rpm reading a root's rpmdb, as kojid's getPackageList does. */
function rootPackages(root: string): string[] {
  const r = spawnSync('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-qa', '--qf', '%{NAME}\\n'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).sort();
}

/** Files (and the dir) in dir not owned by uid:gid, as "name uid:gid". */
function notOwnedBy(dir: string, uid: number, gid: number): string[] {
  return ['.', ...readdirSync(dir)]
    .map((f) => [f, lstatSync(join(dir, f))] as const)
    .filter(([, st]) => st.uid !== uid || st.gid !== gid)
    .map(([f, st]) => `${f} ${st.uid}:${st.gid}`);
}

/** Group mock's gid: Mock's chrootgid, the group of what it writes for the member. */
const mockGid = (): number => Number(spawnSync('getent', ['group', 'mock'], { encoding: 'utf8' }).stdout.split(':')[2]);

const rpmTag = (file: string, tag: string): string =>
  spawnSync('rpm', ['-qp', '--qf', `%{${tag}}`, file], { encoding: 'utf8' }).stdout;

test("kojid's sequence: --init, --chroot (a string and -- argv, --unpriv --cwd), the host writing into the root, --no-clean --rebuild --target, --buildsrpm --spec --sources --target noarch, --install; the host reads the root's rpmdb", async () => {
  const cfg = ['-r', 'koji/world-build-7-1'];
  const root = join(lib(), 'world-build-7-1', 'root');
  const result = join(lib(), 'world-build-7-1', 'result');
  ok(await mock([...cfg, '--init']), '--init');
  const buildsys = rootPackages(root);
  for (const p of ['bash', 'rpm-build', 'shadow-utils']) assert.ok(buildsys.includes(p), `${p} in ${buildsys}`);
  const uname = await mock([...cfg, '--chroot', 'uname -r']);
  ok(uname, '--chroot');
  assert.match(uname.stdout, new RegExp(spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()));

  // kojid (root) puts the SRPM into <root>/chroot_tmpdir from the host, then unpacks it as its rebuild_srpm does.
  const tmp = join(root, 'chroot_tmpdir');
  mkdirSync(tmp, { recursive: true });
  copyFileSync(srpmOf('hello-synth'), join(tmp, 'hello-synth-1.0-1.w1.src.rpm'));
  const unpack = ['--chroot', '--', 'rpm', '--define', '_topdir /chroot_tmpdir/scmroot', '-iv'];
  ok(
    await mock([...cfg, '--no-clean', '--target', 'noarch', ...unpack, '/chroot_tmpdir/hello-synth-1.0-1.w1.src.rpm']),
    '--chroot -- rpm -iv',
  );
  assert.ok(existsSync(join(tmp, 'scmroot', 'SPECS', 'hello-synth.spec')));

  // kojid's source_cmd: as the build user, in the checkout; its uid is the invoking user's.
  const id = await mock([
    ...cfg,
    '--no-clean',
    '--unpriv',
    '--cwd',
    '/chroot_tmpdir/scmroot',
    '--chroot',
    '--',
    '/bin/sh',
    '-c',
    'id -u; pwd',
  ]);
  ok(id, '--unpriv --cwd --chroot --');
  assert.deepEqual(id.stdout.trim().split('\n').slice(-2), [String(caller.uid), '/chroot_tmpdir/scmroot']);

  ok(
    await mock([...cfg, '--no-clean', '--target', 'x86_64', '--rebuild', join(tmp, 'hello-synth-1.0-1.w1.src.rpm')]),
    '--no-clean --rebuild --target',
  );
  const built = list(result);
  assert.deepEqual(
    built.filter((f) => f.endsWith('.rpm')),
    ['hello-synth-1.0-1.w1.src.rpm', 'hello-synth-1.0-1.w1.x86_64.rpm'],
  );
  for (const log of ['build.log', 'root.log', 'state.log']) assert.ok(built.includes(log), `${log} in ${built}`);
  // As Mock's: the result dir and every file in it are the member's (chrootuid) and group mock's (chrootgid).
  assert.deepEqual(notOwnedBy(result, caller.uid, mockGid()), []);
  // Koji's macros from its config reached the build.
  assert.equal(rpmTag(join(result, 'hello-synth-1.0-1.w1.x86_64.rpm'), 'VENDOR'), 'Koji');
  // The root persists (the result dir is inside the root's own dir) and its rpmdb holds the BuildRequires.
  const after = rootPackages(root);
  for (const p of ['synth-devel', 'synth-lib', 'synth-tool']) assert.ok(after.includes(p), `${p} in ${after}`);

  rmSync(join(result, 'hello-synth-1.0-1.w1.src.rpm'));
  ok(
    await mock([
      ...cfg,
      '--no-clean',
      '--buildsrpm',
      '--spec',
      join(tmp, 'scmroot', 'SPECS', 'hello-synth.spec'),
      '--sources',
      join(tmp, 'scmroot', 'SPECS'),
      '--target',
      'noarch',
    ]),
    '--buildsrpm --spec --sources --target noarch',
  );
  assert.deepEqual(
    list(result).filter((f) => f.endsWith('.src.rpm')),
    ['hello-synth-1.0-1.w1.src.rpm'],
  );

  ok(await mock([...cfg, '--install', 'synth-extra']), '--install');
  assert.ok(rootPackages(root).includes('synth-extra'));
});

/** Copr's child.cfg in R/configs/, its include() pointed at the test's /etc/mock; the spec copied into R as Copr does. */
function coprResultdir(name: string): { resultdir: string; childCfg: string } {
  const resultdir = join(scratch, name);
  mkdirSync(join(resultdir, 'configs'), { recursive: true });
  const childCfg = join(resultdir, 'configs', 'child.cfg');
  writeFileSync(
    childCfg,
    fixture('copr-child.cfg').replace("include('/etc/mock/", `include('${join(scratch, 'etc-mock')}/`),
  );
  spawnSync('chown', ['-R', `${caller.uid}:${caller.gid}`, resultdir]);
  return { resultdir, childCfg };
}

/** Copr's produce_rpm command line (copr_rpmbuild/builders/mock.py) after its `unbuffer mock`. */
const produceRpm = (spec: string, sources: string, resultdir: string, uniq: string, childCfg: string): string[] => [
  '--spec',
  spec,
  '--sources',
  sources,
  '--resultdir',
  resultdir,
  '--uniqueext',
  uniq,
  '-r',
  childCfg,
];

/** Copr's mock_clean: its three scrubs of the --uniqueext root; the root is gone after. */
async function coprClean(childCfg: string, uniq: string): Promise<void> {
  const scrubs = ['--scrub', 'bootstrap', '--scrub', 'chroot', '--scrub', 'root-cache'];
  ok(await mock(['-r', childCfg, '--uniqueext', uniq, ...scrubs, '--quiet']), 'mock_clean');
  assert.ok(!existsSync(join(lib(), `world-1-x86_64-${uniq}`, 'root')), 'the root is scrubbed');
}

test("Copr's sequence: --spec --sources --resultdir --uniqueext -r child.cfg, then its scrubs", async () => {
  const { spec, sources } = specDir('copr-synth');
  const { resultdir, childCfg } = coprResultdir('copr-result');
  // As Copr runs it: under unbuffer (a pseudo-terminal), which passes on mock's exit code and output.
  const unbuffered = await start('mock', produceRpm(spec, sources, resultdir, '1700000000_1234', childCfg), [
    ...caller.wrapper,
    'unbuffer',
  ]).done;
  ok(unbuffered, 'unbuffer mock (produce_rpm)');
  assert.match(unbuffered.stdout, /Results and logs in: /);
  const files = list(resultdir);
  assert.deepEqual(
    files.filter((f) => f.endsWith('.rpm')),
    ['copr-synth-1.0-1.w1.src.rpm', 'copr-synth-1.0-1.w1.x86_64.rpm'],
  );
  const rpm = join(resultdir, 'copr-synth-1.0-1.w1.x86_64.rpm');
  // child.cfg's macros (Copr's vendor) and the source from --sources are in the package.
  assert.equal(rpmTag(rpm, 'VENDOR'), 'isomock Copr - user isomock');
  const digests = spawnSync('rpm', ['-qp', '--qf', '[%{FILENAMES} %{FILEDIGESTS}\\n]', rpm], { encoding: 'utf8' });
  const noteDigest = createHash('sha256').update('from --sources of copr-synth\n').digest('hex');
  assert.match(digests.stdout, new RegExp(`^/usr/share/copr-synth/note.txt ${noteDigest}$`, 'm'));
  assert.ok(existsSync(join(lib(), 'world-1-x86_64-1700000000_1234')), 'the --uniqueext root dir');
  // The results are the member's, as Mock's are; the configs/ Copr put there stay as they were.
  assert.deepEqual(
    notOwnedBy(resultdir, caller.uid, caller.gid).filter((f) => !f.startsWith('.')),
    [...files.filter((f) => f !== 'configs').map((f) => `${f} ${caller.uid}:${mockGid()}`)],
  );
  // A failing build under unbuffer: Mock's exit code for a build failure (10) comes through.
  const broken = specDir('copr-broken', 'exit 3');
  const failed = await start('mock', produceRpm(broken.spec, broken.sources, resultdir, 'broken_1', childCfg), [
    ...caller.wrapper,
    'unbuffer',
  ]).done;
  assert.equal(failed.code, 10, failed.stdout);
  assert.match(failed.stdout, /error/i);
  await coprClean(childCfg, 'broken_1');
  await coprClean(childCfg, '1700000000_1234');
});

/** Waits until file holds text (the build reached that point); fails if the run ends first. */
async function waitFor(file: string, text: string, ms: number, run: Promise<Run>): Promise<void> {
  let ended: Run | undefined;
  void run.then((r) => (ended = r));
  for (const end = Date.now() + ms; Date.now() < end && !ended; await new Promise((r) => setTimeout(r, 200))) {
    if (existsSync(file) && readFileSync(file, 'utf8').includes(text)) return;
  }
  assert.fail(`${file} never said ${text}${ended ? `; the run ended: exit ${ended.code}\n${ended.stderr}` : ''}`);
}

const sleepers = (marker: string): string =>
  spawnSync('pgrep', ['-af', marker], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l && !l.includes('pgrep'))
    .join('\n');

for (const [label, signals] of [
  ["Copr's timeout (SIGINT, then SIGTERM, then SIGKILL while it lives)", ['SIGINT', 'SIGTERM', 'SIGKILL']],
  ['a SIGKILL alone (the unprivileged mock dies, sudo cannot pass it on)', ['SIGKILL']],
] as const) {
  test(`${label} in the middle of %build; then Copr's --scrub works and nothing is left running`, async () => {
    const tag = signals.length === 1 ? 'kill' : 'gentle';
    // A sleep of its own length, to find the build's processes by.
    const marker = `sleep ${signals.length === 1 ? 317 : 313}`;
    const { spec, sources } = specDir(`slow-${tag}`, `echo BUILD-STARTED; ${marker}\nsynth-tool > out.txt`);
    const { resultdir, childCfg } = coprResultdir(`slow-${tag}-result`);
    const uniq = `slow_${tag}`;
    const run = start('mock', produceRpm(spec, sources, resultdir, uniq, childCfg));
    const settled = run.done.then((r) => ({ exited: true, ...r }));
    await waitFor(join(resultdir, 'build.log'), 'BUILD-STARTED', 120_000, run.done);
    let result: Run | undefined;
    for (const sig of signals) {
      process.kill(run.pid, sig);
      // Copr's GentlyTimeoutedPopen waits 10 s between its signals; 2 s here.
      result = await Promise.race([settled, new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000))]);
      if (result) break;
    }
    result ??= await settled;
    assert.notEqual(result.code, 0);
    // The root side ends too (on SIGKILL: by its watch on the caller), with its lock released.
    for (let i = 0; i < 50 && sleepers(marker); i++) await new Promise((r) => setTimeout(r, 200));
    assert.equal(sleepers(marker), '', 'no build process outlives the interrupted run');
    await coprClean(childCfg, uniq);
  });
}

/** A directory of the member's own, as Konflux's workspace directories are (its results: group mock may write). */
function ownDir(name: string): string {
  const dir = join(scratch, name);
  mkdirSync(dir);
  chownSync(dir, caller.uid, caller.gid);
  return dir;
}

/** The regular files in a .tar.gz (extracted into scratch) and the text of each. */
function tarFiles(tarball: string): Map<string, string> {
  const into = mkdtempSync(join(scratch, 'untar-'));
  const r = spawnSync('tar', ['-xzf', tarball, '-C', into], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const files = (readdirSync(into, { recursive: true }) as string[]).filter((f) => lstatSync(join(into, f)).isFile());
  return new Map(files.map((f) => [f, readFileSync(join(into, f), 'utf8')]));
}

test("Konflux's three hermetic calls with --spec/--sources, the third offline (no -r), with Konflux's mock.cfg and site-defaults.cfg: expanded-spec.txt, chroot_scan.tar.gz, the SRPM and the RPMs, the member's", async () => {
  const { spec, sources } = specDir('konflux-synth');
  // The builder image's /etc/mock/site-defaults.cfg, played by the member's ~/.config/mock.cfg for this test.
  const userCfg = join(caller.home, '.config', 'mock.cfg');
  const own = readFileSync(userCfg, 'utf8');
  writeFileSync(userCfg, `${own}\n${fixture('konflux-site-defaults.cfg')}`);
  // A world of its own, to stop before the offline call.
  const online = await serveWorld();
  let stopped = false;
  try {
    chmodSync(online.configDir, 0o755);
    const mockCfg = join(scratch, 'mock.cfg');
    const etc = etcMockConfig(online, join(scratch, 'konflux-etc'));
    writeFileSync(mockCfg, fixture('konflux-mock.cfg').replace('"/etc/mock/world-1-x86_64.cfg"', `"${etc}"`));
    const deps = ownDir('konflux-deps');
    const out = ownDir('konflux-result');
    const repo = join(deps, 'buildroot_repo');
    ok(
      await mock([
        '-r',
        mockCfg,
        '--spec',
        spec,
        '--sources',
        sources,
        '--resultdir',
        deps,
        '--calculate-build-dependencies',
      ]),
      'calculate',
    );
    const lockfile = join(deps, 'buildroot_lock.json');
    const locked = (JSON.parse(readFileSync(lockfile, 'utf8')) as { buildroot: { rpms: { name: string }[] } }).buildroot
      .rpms;
    assert.ok(locked.some((p) => p.name === 'synth-devel'));
    // chroot_scan's write_tar: the dnf logs its regexes select, under their full path in the root.
    const scanned = tarFiles(join(deps, 'chroot_scan.tar.gz'));
    assert.ok(scanned.size > 0, 'chroot_scan.tar.gz holds files');
    for (const [name, text] of scanned) {
      assert.match(name, /dnf[^/]*log$/, `${name} is what the regexes select`);
      assert.match(name, /\/root\/var\/log\//, `${name} carries its path in the root`);
      assert.ok(text.length > 0, `${name} is not empty`);
    }
    assert.ok(!existsSync(join(deps, 'chroot_scan')), 'only the tarball stays');
    ok(await mock(['--lockfile', lockfile, '--output-repo', repo], 'mock-hermetic-repo'), 'mock-hermetic-repo');
    assert.ok(existsSync(join(repo, 'repodata', 'repomd.xml')));
    // Offline: the world's server is gone.
    await online.close();
    stopped = true;
    const r = await mock([
      '--hermetic-build',
      lockfile,
      repo,
      '--spec',
      spec,
      '--sources',
      sources,
      '--resultdir',
      out,
    ]);
    ok(r, '--hermetic-build');
    assert.deepEqual(
      list(out).filter((f) => f.endsWith('.rpm')),
      ['konflux-synth-1.0-1.w1.src.rpm', 'konflux-synth-1.0-1.w1.x86_64.rpm'],
    );
    // expand_spec: the spec with its macros expanded, what Konflux's SBOM step reads for the sources.
    for (const dir of [deps, out]) {
      const expanded = readFileSync(join(dir, 'expanded-spec.txt'), 'utf8');
      assert.match(expanded, /^Release: 1\.w1$/m, `${dir}: %{?dist} expanded`);
      assert.match(expanded, /^Source0: note\.txt$/m);
      assert.doesNotMatch(expanded, /%\{/, `${dir}: no macro left`);
    }
    assert.deepEqual(
      notOwnedBy(out, caller.uid, mockGid()).filter((f) => !f.startsWith('. ')),
      [],
      "the results are the member's, group mock's",
    );
  } finally {
    writeFileSync(userCfg, own);
    if (!stopped) await online.close();
  }
});

test('nobody outside group mock gains anything: sudo refuses the launcher, a root-only mode fails in one line', async () => {
  const direct = start('mock', ['--version'], [...caller.outsider.wrapper, 'sudo', '-n', '--']);
  const refused = await direct.done;
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /sudo: a password is required|not allowed/);
  const init = await start('mock', ['-r', 'koji/world-build-7-1', '--init'], caller.outsider.wrapper).done;
  assert.notEqual(init.code, 0);
  assert.equal(init.stderr.trim().split('\n').length <= 2, true, init.stderr);
});

test("files named on the command line are read with the member's rights, as Mock's are: root-only ones are refused in one line, never read", async () => {
  // Root's own: a directory only root may enter, a file only root may read, a dir only root may write.
  const secret = join(scratch, 'root-only');
  mkdirSync(secret, { mode: 0o700 });
  const secretText = 'ROOT-ONLY-SECRET';
  for (const f of ['secret.cfg', 'secret.spec', 'secret.src.rpm', 'buildroot_lock.json'])
    writeFileSync(join(secret, f), `config_opts['x'] = '${secretText}'\n`, { mode: 0o600 });
  const readable = join(scratch, 'root-readable');
  mkdirSync(readable, { mode: 0o755 });
  const shadowed = join(readable, 'secret.txt');
  writeFileSync(shadowed, `${secretText}\n`, { mode: 0o600 });
  // The member's own sources, with a link to root's file among them.
  const { spec, sources } = specDir('invoker-reads');
  symlinkSync(shadowed, join(sources, 'stolen.txt'));
  spawnSync('chown', ['-h', `${caller.uid}:${caller.gid}`, join(sources, 'stolen.txt')]);
  const cfg = ['-r', 'koji/world-build-7-1'];
  const own = ownDir('invoker-result');

  const refused = async (args: string[], code: number, what: RegExp, name: 'mock' | 'mock-hermetic-repo' = 'mock') => {
    const r = await mock(args, name);
    assert.equal(r.code, code, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.match(r.stderr, what);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(secretText));
  };
  const denied = /Permission denied/;
  await refused(['-r', join(secret, 'secret.cfg'), '--debug-config'], 3, denied);
  // The member's own link to /etc/shadow as a config: followed with the member's rights, so refused.
  const link = join(sources, 'shadow.cfg');
  symlinkSync('/etc/shadow', link);
  spawnSync('chown', ['-h', `${caller.uid}:${caller.gid}`, link]);
  await refused(['-r', link, '--debug-config'], 3, denied);
  rmSync(link);
  await refused([...cfg, '--buildsrpm', '--spec', '/etc/shadow', '--resultdir', own], 1, denied);
  await refused([...cfg, '--buildsrpm', '--spec', join(secret, 'secret.spec'), '--resultdir', own], 1, denied);
  await refused([...cfg, '--buildsrpm', '--spec', spec, '--sources', secret, '--resultdir', own], 1, denied);
  await refused([...cfg, '--buildsrpm', '--spec', spec, '--sources', sources, '--resultdir', own], 1, denied);
  await refused([...cfg, '--rebuild', join(secret, 'secret.src.rpm'), '--resultdir', own], 1, denied);
  await refused(
    ['--hermetic-build', join(secret, 'buildroot_lock.json'), own, '--spec', spec, '--sources', own],
    1,
    denied,
  );
  await refused(
    ['--lockfile', join(secret, 'buildroot_lock.json'), '--output-repo', join(own, 'repo')],
    1,
    denied,
    'mock-hermetic-repo',
  );
  await refused([...cfg, '--copyin', shadowed, '/tmp'], 1, denied);
  // A result dir the member may not write: Mock's ResultDirNotAccessible (70), nothing written there.
  rmSync(join(sources, 'stolen.txt'));
  await refused(
    [...cfg, '--buildsrpm', '--spec', spec, '--sources', sources, '--resultdir', readable],
    70,
    /not writable|Permission denied/,
  );
  assert.deepEqual(list(readable), ['secret.txt']);
  // Their own files work, and what isomock writes for them is theirs.
  ok(await mock([...cfg, '--buildsrpm', '--spec', spec, '--sources', sources, '--resultdir', own]), 'own files');
  assert.deepEqual(
    list(own).filter((f) => f.endsWith('.src.rpm')),
    ['invoker-reads-1.0-1.w1.src.rpm'],
  );
  assert.deepEqual(
    notOwnedBy(own, caller.uid, mockGid()).filter((f) => !f.startsWith('. ')),
    [],
  );
});
