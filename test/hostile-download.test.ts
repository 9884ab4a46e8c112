/**
 * `isomock isolated-repo` against hostile servers, a full disk and a hostile
 * co-user of the output directory, black-box through the CLI (so the shared
 * transport can take the downloads over with these tests unchanged):
 * - bodies are capped at the recorded size, else at a ceiling (case 7);
 * - stalls and trickles fail within dnf's timeout/minrate and a deadline,
 *   retries included (two minutes by default);
 * - a planted link or foreign file at a partial file's name is refused, never
 *   written through (case 9);
 * - a full disk (a real tmpfs) is one line, not retried, nothing half-made (case 6);
 * - link-local lockfile URLs are refused before any connection;
 * - ~100 RPMs under RLIMIT_NOFILE=64 (prlimit) pass: the fan-out is bounded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chownSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { rpmFileName, type LockedRpm } from '../src/lockfile/lockfile.js';
import { serializeRecord, recordKey, recordPathFor, recordVersion } from '../src/lockfile/record.js';
import { serveDirectory, type StaticServer } from '../world/server.js';
import { startHostileServer, type Behaviour, type HostileServer } from './helpers/hostile-server.js';
import { isomock, type CliResult } from './helpers/isomock.js';
import { lockedRpmOf, lockfileOf, worldRpms, writeLockfile, type WorldRpm } from './helpers/isolated-repo.js';
import { serveWorld, type ServedWorld } from './helpers/world.js';

const work = `/tmp/iso-hostile-${process.pid}`;
const mounts: string[] = [];
let served: ServedWorld;
let rpms: WorldRpm[];
let hostile: HostileServer;
let counter = 0;

const rpm = (name: string): WorldRpm => rpms.find((r) => r.locked.name === name)!;
const bytesOf = (r: WorldRpm): Buffer => readFileSync(r.source);
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

before(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  served = await serveWorld();
  rpms = await worldRpms(served);
  hostile = await startHostileServer();
});

after(async () => {
  await hostile?.close();
  await served?.close();
  for (const m of mounts) execFileSync('umount', ['-l', m]);
  rmSync(work, { recursive: true, force: true });
});

/** A real tmpfs of the given size (mounted here, unmounted in teardown). */
function tmpfs(dir: string, size: string): string {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

interface Case {
  dir: string;
  out: string;
  lockfile: string;
}

/**
 * A lockfile for the given world RPMs, each served by the hostile server with
 * its behaviour; with `record`, isomock's record beside it states each size.
 */
function hostileCase(
  picked: [WorldRpm, (bytes: Buffer) => Behaviour][],
  opts: { record?: boolean; out?: string } = {},
) {
  const dir = join(work, `case-${++counter}`);
  const locked: LockedRpm[] = picked.map(([r, behaviour]) => {
    const path = `/c${counter}/${r.file}`;
    hostile.serve(path, behaviour(bytesOf(r)));
    return { ...r.locked, url: `${hostile.url}${path}` };
  });
  const lockfile = writeLockfile(dir, 'buildroot_lock.json', lockfileOf(locked));
  if (opts.record) {
    const packages = Object.fromEntries(
      picked.map(([r], i) => [
        recordKey(locked[i]!),
        { sigmd5: r.locked.sigmd5, sha256: sha256(bytesOf(r)), size: bytesOf(r).length, repo: 'base', mirror: null },
      ]),
    );
    writeFileSync(recordPathFor(lockfile), serializeRecord({ isomock_lock_version: recordVersion, packages }));
  }
  return { dir, out: opts.out ?? join(dir, 'repo'), lockfile };
}

async function isolatedRepo(c: Case, extra: string[] = [], killAfterMs = 60_000, wrapper?: string[]) {
  const started = performance.now();
  const result = await isomock(['isolated-repo', '--lockfile', c.lockfile, '--output-repo', c.out, '-q', ...extra], {
    killAfterMs,
    // Each case downloads: a store of its own, so no other case's files serve it.
    env: { ISOMOCK_STORE: join(c.dir, 'store') },
    ...(wrapper && { wrapper }),
  });
  return { ...result, seconds: (performance.now() - started) / 1000 };
}

/** Fails unless the run failed with this code and one line (no stack trace) matching message. */
function assertOneLine(r: CliResult, code: number, message: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, not:\n${r.stderr}`);
  assert.match(lines[0]!, /^isomock: error: /);
  assert.match(lines[0]!, message);
}

/** Entries isomock leaves only while it works: partial files, temp state, staging. */
function leftovers(out: string): string[] {
  if (!existsSync(out)) return [];
  return readdirSync(out).filter((f) => f.endsWith('.isomock-part') || /^\.isomock-state\..*\.tmp$/.test(f));
}

describe('case 7: a body is capped', () => {
  const endless = (): Behaviour => ({ kind: 'endless', chunk: 65536, everyMs: 5 });

  it('at the size the record states: an endless body fails fast, nothing left on disk', async () => {
    // A small tmpfs: a build that does not cap fills it, not the machine's disk.
    const c = hostileCase([[rpm('tar'), endless]], {
      record: true,
      out: join(tmpfs(join(work, 'cap-fs'), '64m'), 'repo'),
    });
    const r = await isolatedRepo(c, [], 20_000);
    assertOneLine(r, 1, /longer than the \d+ bytes its record states/);
    assert.ok(r.seconds < 10, `failed after ${r.seconds} s`);
    assert.deepEqual(leftovers(c.out), []);
    assert.deepEqual(
      readdirSync(c.out).filter((f) => f.endsWith('.rpm')),
      [],
    );
  });

  it('at the ceiling (--max-size) without a record, and before the body when the length announces more', async () => {
    const c = hostileCase([[rpm('tar'), endless]], { out: join(tmpfs(join(work, 'ceiling-fs'), '64m'), 'repo') });
    const r = await isolatedRepo(c, ['--max-size', '1000000'], 20_000);
    assertOneLine(r, 1, /longer than the 1000000-byte ceiling/);
    assert.deepEqual(leftovers(c.out), []);

    const announced = hostileCase([[rpm('tar'), (b) => ({ kind: 'oversize', bytes: b, extra: 1, announce: true })]], {
      record: true,
    });
    const a = await isolatedRepo(announced);
    assertOneLine(a, 1, /announces more than the \d+ bytes its record states/);
    assert.deepEqual(leftovers(announced.out), []);
  });
});

describe('a minimum rate and a deadline, retries included', () => {
  const fastWindow = ['--timeout', '1', '--minrate', '1000'];
  const cases: [string, (b: Buffer) => Behaviour][] = [
    ['a server that never answers', () => ({ kind: 'stall-headers' })],
    ['a body that stops', (b) => ({ kind: 'stall-body', bytes: b, after: 20_000 })],
    ['a trickle (a byte every 200 ms)', (b) => ({ kind: 'trickle', bytes: b, everyMs: 200 })],
  ];
  for (const [what, behaviour] of cases) {
    it(`fails ${what} within the deadline (--timeout 1: 3 s)`, async () => {
      const c = hostileCase([[rpm('tar'), behaviour]]);
      const r = await isolatedRepo(c, fastWindow, 60_000);
      assertOneLine(r, 1, /below 1000 bytes\/s for 1 s|no progress for 3 s, retries included/);
      assert.ok(r.seconds < 8, `failed after ${r.seconds} s`);
    });
  }

  it('by default fails a server stalled before its headers and one trickling a byte every 10 s within 2 minutes', async () => {
    const c = hostileCase([
      [rpm('tar'), () => ({ kind: 'stall-headers' })],
      [rpm('which'), (b) => ({ kind: 'trickle', bytes: b, everyMs: 10_000 })],
    ]);
    const r = await isolatedRepo(c, ['--jobs', '2'], 150_000);
    assertOneLine(r, 1, /no progress for 90 s, retries included|below 1000 bytes\/s for 30 s/);
    assert.ok(r.seconds < 120, `failed after ${r.seconds} s`);
  });

  it('retries a 500 storm a bounded number of times, and gets through a short one', async () => {
    const storm = hostileCase([[rpm('tar'), (b) => ({ kind: 'storm', status: 500, times: Infinity, bytes: b })]]);
    const before = hostile.requests.length;
    const r = await isolatedRepo(storm);
    assertOneLine(r, 1, /download failed after 6 attempts: .*HTTP 500/);
    assert.equal(hostile.requests.length - before, 6);

    const short = hostileCase([[rpm('tar'), (b) => ({ kind: 'storm', status: 503, times: 2, bytes: b })]]);
    const ok = await isolatedRepo(short);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(existsSync(join(short.out, rpm('tar').file)));
  });
});

describe('case 9: files in the output directory are never written through', () => {
  const sentinelText = 'sentinel: not to be written\n';
  /** A case whose partial or final file name holds what plant() puts there. */
  async function planted(plant: (path: string, sentinel: string) => void, final = false) {
    const c = hostileCase([[rpm('tar'), (b) => ({ kind: 'file', bytes: b })]]);
    mkdirSync(c.out, { recursive: true });
    const sentinel = join(c.dir, 'sentinel');
    writeFileSync(sentinel, sentinelText);
    const name = rpmFileName(rpm('tar').locked);
    const path = join(c.out, final ? name : `.${name}.isomock-part`);
    plant(path, sentinel);
    const r = await isolatedRepo(c);
    assert.equal(readFileSync(sentinel, 'utf8'), sentinelText, 'the sentinel is untouched');
    return { r, path };
  }

  it('refuses a symlink at OUT/.NAME.rpm.isomock-part (and leaves it)', async () => {
    const { r, path } = await planted((p, s) => symlinkSync(s, p));
    assertOneLine(r, 1, /isomock-part is a symbolic link, not a partial download of isomock's/);
    assert.ok(existsSync(path), 'what isomock did not make stays');
  });

  it('refuses a hard link and a file of another user there', async () => {
    const hard = await planted((p, s) => linkSync(s, p));
    assertOneLine(hard.r, 1, /isomock-part is a file with 2 links/);
    const foreign = await planted((p) => {
      writeFileSync(p, 'someone else');
      chownSync(p, 1000, 1000);
    });
    assertOneLine(foreign.r, 1, /isomock-part is owned by uid 1000/);
    assert.equal(readFileSync(foreign.path, 'utf8'), 'someone else');
  });

  it('refuses a symlink at the final name', async () => {
    const { r } = await planted((p, s) => symlinkSync(s, p), true);
    assertOneLine(r, 1, /is in the way: a symbolic link/);
  });
});

describe('case 6: a full disk', () => {
  it('is one line and an exit code, not retried, with no partial or temp file and no repodata', async () => {
    const out = join(tmpfs(join(work, 'full-fs'), '8m'), 'repo');
    const dir = join(work, 'full');
    const lockfile = writeLockfile(dir, 'buildroot_lock.json', lockfileOf(rpms.map((r) => r.locked)));
    const before = served.server.requests.length;
    const r = await isolatedRepo({ dir, out, lockfile }, ['--jobs', '4'], 120_000);
    assertOneLine(r, 1, /no space left on device/i);
    assert.deepEqual(leftovers(out), []);
    assert.ok(!existsSync(join(out, 'repodata')), 'no repodata: the repository does not look complete');
    const paths = served.server.requests.slice(before).map((q) => q.path);
    assert.equal(new Set(paths).size, paths.length, 'no file was asked for twice: ENOSPC is not retried');
    for (const f of readdirSync(out).filter((f) => f.endsWith('.rpm'))) {
      const world = rpms.find((w) => w.file === f)!;
      assert.equal(sha256(readFileSync(join(out, f))), sha256(bytesOf(world)), `${f} is whole`);
    }
  });
});

describe('link-local lockfile URLs', () => {
  /**
   * Runs isolated-repo in its own network namespace (nothing is routed: no
   * packet can leave, whatever the build does) with a private /etc/hosts,
   * under strace, and returns the connect() calls it made.
   */
  async function contained(urls: string[], extra: string[] = [], bootstrapImage?: string) {
    const dir = join(work, `ll-${++counter}`);
    mkdirSync(dir, { recursive: true });
    const hosts = join(dir, 'hosts');
    writeFileSync(hosts, '127.0.0.1 localhost\n169.254.169.254 metadata.isomock.test\n');
    const trace = join(dir, 'trace');
    const picked = [rpm('tar'), rpm('which')];
    const lockfile = writeLockfile(
      dir,
      'buildroot_lock.json',
      lockfileOf(
        urls.length ? picked.map((r, i) => ({ ...r.locked, url: `${urls[i % urls.length]}/${r.file}` })) : [],
        bootstrapImage !== undefined
          ? {
              image: bootstrapImage,
              section: {
                image_digest: `sha256:${'a'.repeat(64)}`,
                pull_digest: `sha256:${'b'.repeat(64)}`,
                architecture: 'amd64',
                id: 'c'.repeat(64),
              },
            }
          : undefined,
      ),
    );
    const wrapper = [
      ...['unshare', '--net', '--mount', '--', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hosts],
      ...['strace', '-f', '-qq', '-e', 'trace=connect', '-o', trace],
    ];
    const r = await isolatedRepo({ dir, out: join(dir, 'repo'), lockfile }, extra, 60_000, wrapper);
    const connects = readFileSync(trace, 'utf8')
      .split('\n')
      .filter((l) => /connect\(.*(inet_addr|inet_pton)/.test(l));
    return { r, connects };
  }

  for (const url of ['http://169.254.169.254', 'http://[fe80::1]:8080', 'http://[::ffff:169.254.169.254]']) {
    it(`refuses ${url} before any connection`, async () => {
      const { r, connects } = await contained([url]);
      assertOneLine(r, 5, /is a link-local address \(give --allow-link-local to fetch from it\)/);
      assert.deepEqual(connects, [], 'no connection attempted');
    });
  }

  it('refuses a name that resolves to a link-local address, without connecting', async () => {
    const { r, connects } = await contained(['http://metadata.isomock.test']);
    assertOneLine(r, 5, /metadata\.isomock\.test \(169\.254\.169\.254\) is a link-local address/);
    assert.deepEqual(connects, []);
  });

  for (const image of ['169.254.169.254:5000/world/bootstrap:1', 'metadata.isomock.test/world/bootstrap:1']) {
    it(`refuses a bootstrap image on ${image.split('/')[0]} before any connection`, async () => {
      const { r, connects } = await contained([], [], image);
      assertOneLine(r, 5, /is a link-local address \(give --allow-link-local to fetch from it\)/);
      assert.deepEqual(connects, []);
    });
  }

  it('lets --allow-link-local through (here to a namespace with no route)', async () => {
    const { r, connects } = await contained(['http://169.254.169.254'], ['--allow-link-local', '--timeout', '1']);
    assertOneLine(r, 1, /download failed/);
    assert.ok(
      connects.some((l) => l.includes('169.254.169.254')),
      'the download was attempted',
    );
  });
});

describe('bounded fan-out', () => {
  let repo: StaticServer;
  let locked: LockedRpm[];

  before(async () => {
    // ~100 small RPMs: one spec, one subpackage each.
    const top = join(work, 'emfile-build');
    const names = Array.from({ length: 100 }, (_, i) => `emfile-${String(i).padStart(3, '0')}`);
    const spec = [
      'Name: emfile\nVersion: 1\nRelease: 1\nSummary: x\nLicense: MIT\nBuildArch: noarch\n%description\nx\n',
      ...names.map((n) => `%package -n ${n}\nSummary: x\n%description -n ${n}\nx\n%files -n ${n}\n`),
    ].join('');
    mkdirSync(join(top, 'SPECS'), { recursive: true });
    writeFileSync(join(top, 'SPECS', 'emfile.spec'), spec);
    execFileSync('rpmbuild', ['-bb', '--quiet', `--define=_topdir ${top}`, join(top, 'SPECS', 'emfile.spec')]);
    const dir = join(top, 'RPMS', 'noarch');
    repo = await serveDirectory(dir);
    locked = await Promise.all(
      readdirSync(dir).map((f) => lockedRpmOf(join(dir, f), `${repo.url}${encodeURIComponent(f)}`)),
    );
    assert.equal(locked.length, 100);
  });
  after(() => repo?.close());

  const dir = join(work, 'emfile');
  const lowLimit = ['prlimit', '--nofile=64', '--'];

  it('isolated-repo with 100 RPMs passes under RLIMIT_NOFILE=64 (prlimit)', async () => {
    const lockfile = writeLockfile(dir, 'buildroot_lock.json', lockfileOf(locked));
    const c = { dir, out: join(dir, 'repo'), lockfile };
    const r = await isolatedRepo(c, [], 120_000, lowLimit);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readdirSync(c.out).filter((f) => f.endsWith('.rpm')).length, 100);
  });

  it('--isolated-build verifies all 100 under RLIMIT_NOFILE=64: it reaches the one tampered RPM', async () => {
    const repoDir = join(dir, 'repo');
    const victim = join(repoDir, rpmFileName(locked.at(-1)!));
    const bytes = readFileSync(victim);
    bytes[bytes.length - 10]! ^= 0xff;
    writeFileSync(victim, bytes);
    const srpm = join(served.world.dir, served.world.manifest.srpms[0]!.file);
    const lockfile = join(dir, 'buildroot_lock.json');
    const args = ['--isolated-build', lockfile, repoDir, srpm, '--config-opts', `basedir=${join(work, 'lib')}`, '-q'];
    const r = await isomock(args, { wrapper: lowLimit, killAfterMs: 120_000 });
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stderr, /EMFILE:|too many open files/);
    assert.match(
      r.stderr,
      new RegExp(`${rpmFileName(locked.at(-1)!).replace(/[.+]/g, '\\$&')} is not .* from the lockfile`),
    );
  });
});
