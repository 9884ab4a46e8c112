/**
 * Host-side file operations never follow a planted link (issue 9, file
 * system part), through ./bin/isomock on the demo world with real hostile
 * inputs: SRPMs built here by rpmbuild whose %install plants links in the
 * topdir, a co-user's links in the result directory, a link a package (or
 * --chroot as root) leaves in the buildroot, a bootstrap layer whose whiteout
 * names '.' or '..', and a build's view of /sys. Every link points at a
 * sentinel directory of the test's own (or, for the case 3, at
 * /etc/shadow, only ever compared by hash); each test checks the sentinel is
 * exactly as it was and that a refusal is one line with an exit code.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { serveWorld, type ServedWorld } from './helpers/world.js';
import { isomock, type CliResult } from './helpers/isomock.js';
import { isomockMounts } from './helpers/mounts.js';
import { buildImage, craftedTar, layerFromTar, type CraftedEntry } from '../world/images.js';
import { storeLocation } from '../src/store/content-store.js';

let world: ServedWorld;
let scratch: string;
let sentinel: string;

before(async () => {
  world = await serveWorld();
  scratch = mkdtempSync('/tmp/isomock-hostile-fs-test-');
  sentinel = join(scratch, 'sentinel');
  mkdirSync(sentinel);
  writeFileSync(join(sentinel, 'keep.txt'), 'host data\n');
  writeFileSync(join(sentinel, 'old-1-1.src.rpm'), 'not a result of this build\n');
});
after(async () => {
  await world?.close();
  if (scratch && isomockMounts(scratch).length === 0) rmSync(scratch, { recursive: true, force: true });
});

/** Every name, type, mode and content below dir: a sentinel must stay exactly this. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .sort()
    .map((name) => {
      const st = lstatSync(join(dir, name));
      const content = st.isFile() ? readFileSync(join(dir, name), 'utf8') : '';
      return `${name} ${st.mode.toString(8)} ${content}`;
    });
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A failure as the house rules want it: non-zero, one line, no stack trace. */
function assertOneLineFailure(r: CliResult, why: RegExp): void {
  assert.notEqual(r.code, 0, `expected a failure: ${r.stderr}`);
  assert.match(r.stderr, /^isomock: error: [^\n]*\n$/, r.stderr);
  assert.match(r.stderr, why);
}

/** Private basedir and cache, the result dir, quiet: for every command. */
function common(resultdir: string): string[] {
  const config = (opt: string): string[] => ['--config-opts', opt];
  return [
    ...config(`basedir=${join(scratch, 'lib')}`),
    ...config(`cache_topdir=${join(scratch, 'cache')}`),
    '--resultdir',
    resultdir,
    '-q',
  ];
}

/** Options for a build on the world's host-dnf config. */
function opts(resultdir: string, extra: string[] = []): string[] {
  return ['--configdir', world.configDir, '-r', 'world-1-x86_64', ...common(resultdir), ...extra];
}

const built = new Map<string, string>();

/**
 * A noarch package built here (once per name) by the host's rpmbuild: with
 * `-bs` an SRPM, with `-bb` a binary RPM; `sections` is the spec after its preamble.
 */
function hostilePackage(name: string, sections: string, mode: '-bs' | '-bb'): string {
  const known = built.get(`${name}${mode}`);
  if (known) return known;
  const top = join(scratch, `pkg-${name}`);
  mkdirSync(top, { recursive: true });
  const spec = join(top, `${name}.spec`);
  writeFileSync(
    spec,
    `Name: ${name}\nVersion: 1\nRelease: 1\nSummary: hostile\nLicense: MIT\nBuildArch: noarch\n\n` +
      `%description\nhostile\n\n${sections}\n\n%files\n`,
  );
  execFileSync('rpmbuild', [mode, '--define', `_topdir ${top}`, spec], { stdio: 'ignore' });
  const file =
    mode === '-bs' ? join(top, 'SRPMS', `${name}-1-1.src.rpm`) : join(top, 'RPMS', 'noarch', `${name}-1-1.noarch.rpm`);
  built.set(`${name}${mode}`, file);
  return file;
}

/** An SRPM whose %install runs `install`. */
const hostileSrpm = (name: string, install: string): string => hostilePackage(name, `%install\n${install}`, '-bs');

const leakInstall = 'ln -sf /etc/shadow %{_topdir}/SRPMS/leak.src.rpm';

/** Neither the link's name nor /etc/shadow's bytes (by hash) are in the result dir. */
function assertNoShadow(resultdir: string): void {
  const shadow = sha256('/etc/shadow');
  assert.ok(!existsSync(join(resultdir, 'leak.src.rpm')), 'leak.src.rpm published');
  for (const f of readdirSync(resultdir)) {
    const p = join(resultdir, f);
    if (lstatSync(p).isFile()) assert.notEqual(sha256(p), shadow, `${f} is /etc/shadow`);
  }
}

test('--rebuild: an SRPM linking SRPMS/leak.src.rpm to /etc/shadow puts nothing of it in the result dir', async () => {
  const resultdir = join(scratch, 'leak-rebuild');
  const r = await isomock([...opts(resultdir), hostileSrpm('leak', leakInstall)]);
  assertNoShadow(resultdir);
  assertOneLineFailure(r, /leak\.src\.rpm.*symlink/);
});

test('--isolated-build: the same SRPM, built offline from its lockfile, leaks nothing either', async () => {
  const srpm = hostileSrpm('leak-iso', leakInstall);
  const calcdir = join(scratch, 'leak-calc');
  const calc = await isomock([...opts(calcdir), '--calculate-build-dependencies', srpm]);
  assert.equal(calc.code, 0, calc.stderr);
  const lockfile = join(calcdir, 'buildroot_lock.json');
  const repo = join(scratch, 'leak-repo');
  const made = await isomock(['isolated-repo', '-q', '--lockfile', lockfile, '--output-repo', repo]);
  assert.equal(made.code, 0, made.stderr);
  const resultdir = join(scratch, 'leak-isolated');
  const r = await isomock(['--isolated-build', lockfile, repo, ...common(resultdir), srpm]);
  assertNoShadow(resultdir);
  assertOneLineFailure(r, /leak\.src\.rpm.*symlink/);
});

test('an SRPM replacing SRPMS by a link: nothing read from or deleted in its target by the next SRPM', async () => {
  const before = snapshot(sentinel);
  const resultdir = join(scratch, 'srpms-link');
  const first = hostileSrpm('swap-srpms', `rm -rf %{_topdir}/SRPMS && ln -s ${sentinel} %{_topdir}/SRPMS`);
  const second = hostileSrpm('innocent', 'true');
  const r = await isomock([...opts(resultdir), first, second]);
  assert.deepEqual(snapshot(sentinel), before);
  assert.ok(!existsSync(join(resultdir, 'old-1-1.src.rpm')), "the link target's file published");
  assertOneLineFailure(r, /SRPMS.*symlink/);
});

test("a co-user's links in the result dir: log files are refused, never opened through", async () => {
  const before = snapshot(sentinel);
  for (const log of ['build.log', 'root.log', 'state.log']) {
    const resultdir = join(scratch, `planted-${log}`);
    mkdirSync(resultdir);
    symlinkSync(join(sentinel, 'keep.txt'), join(resultdir, log));
    const r = await isomock([...opts(resultdir), hostileSrpm('innocent', 'true')]);
    assert.deepEqual(snapshot(sentinel), before, log);
    assertOneLineFailure(r, new RegExp(`${log.replace('.', '\\.')}.*symlink`));
  }
});

test("a co-user's links at every other name isomock writes in the result dir are replaced, not written through", async () => {
  const before = snapshot(sentinel);
  const resultdir = join(scratch, 'planted-results');
  mkdirSync(resultdir);
  const names = [
    'installed_pkgs.log',
    'buildroot_lock.json',
    'buildroot_lock.json.partial',
    'buildroot_lock.isomock.json.partial',
    'innocent-1-1.src.rpm',
    '.innocent-1-1.src.rpm.partial',
  ];
  for (const name of names) symlinkSync(join(sentinel, 'keep.txt'), join(resultdir, name));
  const r = await isomock([...opts(resultdir), '--calculate-build-dependencies', hostileSrpm('innocent', 'true')]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(snapshot(sentinel), before);
  for (const name of ['installed_pkgs.log', 'buildroot_lock.json', 'innocent-1-1.src.rpm'])
    assert.ok(lstatSync(join(resultdir, name)).isFile(), name);
});

test('a link left in the buildroot (var/cache -> elsewhere) stops the next command, nothing made through it', async () => {
  const before = snapshot(sentinel);
  const resultdir = join(scratch, 'root-link');
  const init = await isomock([...opts(resultdir), '--init']);
  assert.equal(init.code, 0, init.stderr);
  // As a package scriptlet could, as root inside the buildroot.
  const plant = await isomock([...opts(resultdir), '--chroot', `rm -rf /var/cache && ln -s ${sentinel} /var/cache`]);
  assert.equal(plant.code, 0, plant.stderr);
  const next = await isomock([...opts(resultdir), '--chroot', 'true']);
  assert.deepEqual(snapshot(sentinel), before);
  assertOneLineFailure(next, /var\/cache.*symlink/);
  const clean = await isomock([...opts(resultdir), '--clean']);
  assert.equal(clean.code, 0, clean.stderr);
  assert.deepEqual(snapshot(sentinel), before, '--clean removed the link, not its target');
});

test("the build's /sys is one fresh read-only sysfs: no host submount (cgroup v1) under it to leave writable", async () => {
  const resultdir = join(scratch, 'sys');
  const r = await isomock([...opts(resultdir), '--chroot', 'cat /proc/self/mountinfo; ls /sys/class/net']);
  assert.equal(r.code, 0, r.stderr);
  const sys = r.stdout
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[4] === '/sys' || f[4]?.startsWith('/sys/'));
  assert.ok(
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4]?.startsWith('/sys/')),
    'the host has submounts under /sys (else this proves nothing)',
  );
  assert.equal(sys.length, 1, `one mount at /sys: ${sys.map((f) => f[4]).join(' ')}`);
  const [fields] = sys;
  assert.ok(fields![5]!.split(',').includes('ro'), `/sys is ${fields![5]}`);
  assert.equal(fields![fields!.indexOf('-') + 1], 'sysfs');
  // A sysfs of the build's own network namespace: its devices, not the host's.
  assert.deepEqual(r.stdout.trim().split('\n').slice(-1), ['lo']);
});

test("a package's scriptlet rewriting the installer's HOME runs nothing on the host (its .rpmmacros is rewritten first)", async () => {
  const before = snapshot(sentinel);
  const tamper = hostilePackage(
    'tamper',
    // rpm expands %_db_backend whenever it opens a database: the host's rpm -qa would run this.
    `%post\necho '%%_db_backend %%(touch ${sentinel}/pwned; echo sqlite)' >> /installation-homedir/.rpmmacros`,
    '-bb',
  );
  const resultdir = join(scratch, 'tamper');
  const r = await isomock([...opts(resultdir, ['--additional-package', tamper]), hostileSrpm('innocent', 'true')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(readFileSync(join(resultdir, 'installed_pkgs.log'), 'utf8'), /^tamper-1-1\.noarch /m);
  assert.deepEqual(snapshot(sentinel), before);
});

/** A `dir:` layout of an image with these layers, as containers/image writes it. */
function dirImage(name: string, layers: CraftedEntry[][]): string {
  const image = buildImage({ layers: layers.map((l) => layerFromTar(craftedTar(l))), architecture: 'amd64' });
  const dir = join(scratch, 'images', name);
  mkdirSync(dir, { recursive: true });
  for (const blob of image.blobs) {
    assert.ok(Buffer.isBuffer(blob.data), 'small crafted layers stay in memory');
    writeFileSync(join(dir, blob.digest.slice('sha256:'.length)), blob.data);
  }
  writeFileSync(join(dir, 'manifest.json'), image.manifest);
  writeFileSync(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  return dir;
}

test("a bootstrap layer whose whiteout names '', '.' or '..' is refused; nothing beside the tree goes; caches root-only", async () => {
  const cacheTop = join(scratch, 'cache');
  for (const [i, whiteout] of ['.wh.', 'etc/.wh..', 'etc/.wh...', '.wh...'].entries()) {
    const image = dirImage(`whiteout-${i}`, [
      [
        { path: 'etc/', type: 'Directory' },
        { path: 'etc/os-release', data: 'ID=hostile\n' },
      ],
      [{ path: whiteout }, { path: 'after', data: 'written after the whiteout\n' }],
    ]);
    mkdirSync(join(cacheTop, 'isomock-bootstrap'), { recursive: true });
    const neighbour = join(cacheTop, 'isomock-bootstrap', `neighbour-${i}`);
    mkdirSync(neighbour);
    const r = await isomock([
      ...opts(join(scratch, `whiteout-${i}`)),
      '--config-opts',
      'use_bootstrap=True',
      '--config-opts',
      'use_bootstrap_image=True',
      '--config-opts',
      'bootstrap_image_ready=True',
      '--config-opts',
      `bootstrap_image=dir:${image}`,
      hostileSrpm('innocent', 'true'),
    ]);
    assertOneLineFailure(r, /whiteout/);
    assert.equal(r.code, 90, whiteout);
    assert.ok(statSync(neighbour).isDirectory(), whiteout);
    assert.deepEqual(
      readdirSync(join(cacheTop, 'isomock-bootstrap')).filter((f) => f.includes('.partial-')),
      [],
      'no half-unpacked tree left',
    );
    // Unpacked trees hold setuid binaries: no other user may reach them, nor the layers in the image store.
    assert.equal(statSync(join(cacheTop, 'isomock-bootstrap')).mode & 0o7777, 0o700);
    assert.equal(statSync(storeLocation()).mode & 0o7777, 0o700);
  }
});
