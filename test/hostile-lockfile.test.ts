/**
 * Hostile lockfiles, isomock records and offline repositories against
 * `./bin/isomock --isolated-build` (and isolated-repo): a real lockfile and
 * repository are made once from the demo world (calculate, isolated-repo),
 * then copies are mutated as an attacker would. Each holds a guarantee of
 * docs/security.md: lockfile values never reach the host unchecked, the
 * SRPM is the calculated one, a bad LOCKFILE or REPO entry is one line with
 * Mock's exit code. Run with ISOMOCK_BIN=/work/old/bin/isomock to see the
 * old build fail them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { scratchOpts, serveWorld, type ServedWorld } from './helpers/world.js';
import { isomock, type CliResult } from './helpers/isomock.js';
import { isomockMounts } from './helpers/mounts.js';
import { createSigner } from '../world/gen/sign.js';

let world: ServedWorld;
let scratch: string;
/** The genuine calculate result: buildroot_lock.json and its isomock record. */
let calcDir: string;
let repo: string;
let srpm: string;

type Json = any;

before(async () => {
  world = await serveWorld();
  scratch = mkdtempSync('/tmp/iso-hostile-');
  srpm = join(world.world.dir, world.world.manifest.srpms.find((s) => s.name === 'hello-synth')!.file);
  calcDir = join(scratch, 'calc');
  const calc = await isomock([
    '--configdir',
    world.configDir,
    '-r',
    'world-1-x86_64',
    ...common('calc'),
    '--calculate-build-dependencies',
    srpm,
  ]);
  assert.equal(calc.code, 0, calc.stderr);
  repo = join(scratch, 'repo');
  const made = await isomock([
    'isolated-repo',
    '-q',
    '--lockfile',
    join(calcDir, 'buildroot_lock.json'),
    '--output-repo',
    repo,
  ]);
  assert.equal(made.code, 0, made.stderr);
});

after(async () => {
  await world?.close();
  if (scratch && isomockMounts(scratch).length === 0) rmSync(scratch, { recursive: true, force: true });
});

/** A private basedir and cache, the result dir named. */
function common(result: string): string[] {
  return [...scratchOpts(scratch, result), '-q'];
}

/** A copy of the genuine lockfile (and its record), changed; returns the lockfile's path. */
function variant(name: string, changeLock: (l: Json) => void = () => {}, changeRecord?: (r: Json) => void): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  const lock = JSON.parse(readFileSync(join(calcDir, 'buildroot_lock.json'), 'utf8'));
  changeLock(lock);
  writeFileSync(join(dir, 'buildroot_lock.json'), JSON.stringify(lock, null, 4) + '\n');
  const record = JSON.parse(readFileSync(join(calcDir, 'buildroot_lock.isomock.json'), 'utf8'));
  changeRecord?.(record);
  writeFileSync(join(dir, 'buildroot_lock.isomock.json'), JSON.stringify(record, null, 2) + '\n');
  return join(dir, 'buildroot_lock.json');
}

function isolatedBuild(lockfile: string, from: string, name: string, extra: string[] = [], what = srpm) {
  return isomock(['--isolated-build', lockfile, from, ...common(`iso-${name}`), ...extra, what]);
}

/** Mock's exit code and one line of error: no stack trace, nothing else. */
function oneLine(r: CliResult, code: number, message: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.match(r.stderr, /^isomock: error: [^\n]+\n$/, 'one line');
  assert.match(r.stderr, message);
}

describe('lockfile values never reach the host unchecked', () => {
  it('case 1: %_dbpath with %(...) runs nothing on the host, and is refused', async () => {
    const sentinel = join(scratch, 'pwned-dbpath');
    const lockfile = variant('case1', (l) => (l.config.macros['%_dbpath'] = `/var/lib/rpm%(touch ${sentinel})`));
    const r = await isolatedBuild(lockfile, repo, 'case1');
    assert.ok(!existsSync(sentinel), `the host ran the lockfile's command: ${sentinel} exists`);
    oneLine(r, 5, /%_dbpath.*holds a %/);
  });

  it('case 2: %_topdir climbing out of the buildroot creates no host directory, and is refused', async () => {
    const victim = join(scratch, 'victim-topdir');
    const lockfile = variant('case2', (l) => (l.config.macros['%_topdir'] = '/..'.repeat(24) + victim));
    const r = await isolatedBuild(lockfile, repo, 'case2');
    assert.ok(!existsSync(victim), `the host created ${victim}`);
    oneLine(r, 5, /%_topdir.*not a normalized path/);
  });

  it('a macro holding a newline (a second macro line) is refused', async () => {
    const lockfile = variant('newline', (l) => (l.config.macros['%dist'] = '.w1\n%_topdir /builddir/elsewhere'));
    oneLine(await isolatedBuild(lockfile, repo, 'newline'), 5, /macros\["%dist"\].*newline/);
  });

  it('a pull_digest with .. loads and saves no image outside REPO', async () => {
    // An image-shaped directory outside REPO, where the climbing digest points.
    const outside = join(scratch, 'outside-image');
    mkdirSync(outside, { recursive: true });
    const climb = `sha256:x/${'../'.repeat(8)}${outside.slice(1)}`;
    const lockfile = variant('pull-digest', (l) => {
      l.bootstrap = { image_digest: 'a'.repeat(64), pull_digest: climb, architecture: 'amd64', id: 'b'.repeat(64) };
      l.config.bootstrap_image = '127.0.0.1/world/bootstrap:1';
      l.config.bootstrap_image_ready = true;
    });
    const r = await isolatedBuild(lockfile, repo, 'pull-digest');
    oneLine(r, 5, /pull_digest .* is not sha256: and 64 hex digits/);
    const out = join(scratch, 'pull-digest-out');
    const saved = await isomock(['isolated-repo', '-q', '--lockfile', lockfile, '--output-repo', out]);
    oneLine(saved, 5, /pull_digest/);
  });

  it('config keys beyond the buildroot-defining ones (host paths, commands, network) are ignored', async () => {
    const planted = join(scratch, 'planted');
    const lockfile = variant('other-keys', (l) =>
      Object.assign(l.config, {
        basedir: join(planted, 'basedir'),
        resultdir: join(planted, 'resultdir'),
        cache_topdir: join(planted, 'cache'),
        plugin_conf: { bind_mount_enable: true, bind_mount_opts: { dirs: [['/', '/host']] } },
        chroot_setup_cmd: `install ${join(planted, 'x.rpm')}`,
        rpmbuild_networking: true,
        'dnf.conf': `[main]\npluginpath=${planted}\n`,
      }),
    );
    const r = await isolatedBuild(lockfile, repo, 'other-keys');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(planted), `a lockfile key reached ${planted}`);
  });

  it('a bootstrap section without image_digest (Mock writes {} when podman fails) is refused: nothing to check the image by', async () => {
    const lockfile = variant('no-image-digest', (l) => {
      l.version = '1.0.0';
      l.bootstrap = {};
      l.config.bootstrap_image = '127.0.0.1/world/bootstrap:1';
    });
    oneLine(await isolatedBuild(lockfile, repo, 'no-image-digest'), 90, /records no bootstrap image_digest/);
  });

  it('a sigmd5 of the wrong form is refused; (none), which v6 packages have, is compared with the file', async () => {
    const bad = variant('sigmd5-bad', (l) => (l.buildroot.rpms[0].sigmd5 = '0'.repeat(31) + 'g'));
    oneLine(await isolatedBuild(bad, repo, 'sigmd5-bad'), 5, /sigmd5 .* is not 32 hex digits/);
    const none = variant(
      'sigmd5-none',
      (l) => (l.buildroot.rpms[0].sigmd5 = '(none)'),
      // Without a record entry, the (none) is compared with the file's header alone.
      (r) => (r.packages = {}),
    );
    oneLine(
      await isolatedBuild(none, repo, 'sigmd5-none'),
      1,
      /its SIGMD5 is [0-9a-f]{32}, the lockfile says \(none\)/,
    );
  });

  it('a hostile isomock record (a negative size, an unknown field, a planted symlink) is refused when read', async () => {
    const negative = variant('record-size', undefined, (r) => {
      for (const e of Object.values<Json>(r.packages)) e.size = -1;
    });
    oneLine(await isolatedBuild(negative, repo, 'record-size'), 5, /invalid isomock record .*size is not a size/);
    const extra = variant('record-extra', undefined, (r) => (r.trusted_keys = ['x']));
    oneLine(
      await isolatedBuild(extra, repo, 'record-extra'),
      5,
      /invalid isomock record .*unknown field "trusted_keys"/,
    );
    // Beside the lockfile, in a result dir others may write: a planted link is not followed.
    const linked = variant('record-link');
    const planted = join(scratch, 'record-link', 'buildroot_lock.isomock.json');
    copyFileSync(planted, join(scratch, 'planted-record.json'));
    unlinkSync(planted);
    symlinkSync(join(scratch, 'planted-record.json'), planted);
    oneLine(
      await isolatedBuild(linked, repo, 'record-link'),
      1,
      /isomock record .* is a symbolic link, not a regular file/,
    );
  });
});

describe('the SRPM is the calculated one', () => {
  let resigned: string;
  before(async () => {
    // The same package, re-signed: it builds just as well, but is not the file that was calculated.
    resigned = join(scratch, 'resigned', 'hello-synth-1.0-1.w1.src.rpm');
    mkdirSync(join(scratch, 'resigned'), { recursive: true });
    copyFileSync(srpm, resigned);
    const signer = await createSigner();
    try {
      await signer.sign([resigned], false);
    } finally {
      await signer.close();
    }
    assert.notEqual(readFileSync(resigned).toString('hex'), readFileSync(srpm).toString('hex'));
  });

  it('the record names the SRPMs it was calculated for: the one given and the one calculate wrote', async () => {
    const record = JSON.parse(readFileSync(join(calcDir, 'buildroot_lock.isomock.json'), 'utf8'));
    const sha256 = (f: string): string => execFileSync('sha256sum', [f], { encoding: 'utf8' }).split(' ')[0]!;
    const written = join(calcDir, 'hello-synth-1.0-1.w1.src.rpm');
    assert.deepEqual(record.srpms, [
      { name: 'hello-synth-1.0-1.w1.src.rpm', sha256: sha256(srpm) },
      { name: 'hello-synth-1.0-1.w1.src.rpm', sha256: sha256(written) },
    ]);
    // The SRPM from the calculate step's result dir is the calculated one too.
    const r = await isolatedBuild(join(calcDir, 'buildroot_lock.json'), repo, 'written-srpm', [], written);
    assert.equal(r.code, 0, r.stderr);
  });

  it('another SRPM is refused in one line, and built with --accept-other-srpm', async () => {
    const lockfile = join(calcDir, 'buildroot_lock.json');
    const refused = await isolatedBuild(lockfile, repo, 'other-srpm', [], resigned);
    oneLine(
      refused,
      5,
      /is not the SRPM the lockfile was calculated for, hello-synth-1\.0-1\.w1\.src\.rpm .*--accept-other-srpm/,
    );
    assert.ok(!existsSync(join(scratch, 'iso-other-srpm', 'build.log')), 'refused before any build');

    const accepted = await isolatedBuild(lockfile, repo, 'other-srpm-ok', ['--accept-other-srpm'], resigned);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(
      readFileSync(join(scratch, 'iso-other-srpm-ok', 'root.log'), 'utf8'),
      /accepted \(--accept-other-srpm\)/,
    );
  });

  it('a lockfile without a record (as Mock writes it) builds, and the log says nothing was compared', async () => {
    const dir = join(scratch, 'no-record');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(calcDir, 'buildroot_lock.json'), join(dir, 'buildroot_lock.json'));
    const r = await isolatedBuild(join(dir, 'buildroot_lock.json'), repo, 'no-record', [], resigned);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      readFileSync(join(scratch, 'iso-no-record', 'root.log'), 'utf8'),
      /no isomock record .*the SRPM is not compared with the calculated one/,
    );
  });
});

describe('case 8: a bad LOCKFILE or REPO entry is one line with a reason', () => {
  it('a missing lockfile, a directory, a path through a file: exit 5, one line', async () => {
    const missing = await isolatedBuild(join(scratch, 'nope.json'), repo, 'missing');
    oneLine(missing, 5, /cannot read lockfile .*nope\.json: ENOENT/);
    const dir = await isolatedBuild(calcDir, repo, 'dir');
    oneLine(dir, 5, /cannot read lockfile .*: EISDIR/);
    const through = await isolatedBuild(join(srpm, 'buildroot_lock.json'), repo, 'enotdir');
    oneLine(through, 5, /cannot read lockfile .*: ENOTDIR/);
  });

  it('a locked RPM in REPO replaced by a symlink (even to the right file) or a directory is refused, saying so', async () => {
    const lock = JSON.parse(readFileSync(join(calcDir, 'buildroot_lock.json'), 'utf8'));
    const file = decodeURIComponent(new URL(lock.buildroot.rpms[0].url).pathname.split('/').pop()!);
    const repoWith = (name: string, plant: (path: string) => void): string => {
      const copy = join(scratch, `repo-${name}`);
      cpSync(repo, copy, { recursive: true });
      unlinkSync(join(copy, file));
      plant(join(copy, file));
      return copy;
    };
    const lockfile = join(calcDir, 'buildroot_lock.json');
    const elsewhere = join(scratch, 'elsewhere.rpm');
    copyFileSync(join(repo, file), elsewhere);
    const r = await isolatedBuild(
      lockfile,
      repoWith('symlink', (p) => symlinkSync(elsewhere, p)),
      'symlink',
    );
    oneLine(r, 1, new RegExp(`${file.replace(/[.+]/g, '\\$&')} is a symbolic link, not a regular file`));
    assert.ok(r.stderr.length < 600, `a short message (${r.stderr.length} bytes)`);

    const shadow = repoWith('shadow', (p) => symlinkSync('/etc/shadow', p));
    oneLine(await isolatedBuild(lockfile, shadow, 'shadow'), 1, /is a symbolic link, not a regular file/);

    const directory = repoWith('directory', (p) => mkdirSync(p));
    oneLine(await isolatedBuild(lockfile, directory, 'directory'), 1, /is a directory, not a regular file/);
  });
});
