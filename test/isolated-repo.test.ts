/**
 * `isomock isolated-repo`, RPM part, against the world served on loopback
 * with injected faults: every RPM downloaded and verified, real createrepo_c
 * metadata read back by real dnf, retries, resumption, wrong bytes, an
 * interrupted run, a no-op second run, and lockfiles refused before any
 * download.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { isolatedRepo } from '../src/commands/isolated-repo.js';
import { IsomockError } from '../src/errors.js';
import { nevra } from '../src/rpm/nevra.js';
import type { Fault } from '../world/server.js';
import type { ServedWorld } from './helpers/world.js';
import {
  lockfileOf,
  sha256File as sha256,
  startWorld,
  stopWorld,
  writeLockfile,
  type WorldRpm,
} from './helpers/isolated-repo.js';

const execFileAsync = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/isomock-isolated-repo', import.meta.url));
const faults = new Map<string, Fault>();
// These cases are about downloads: no store to serve them (test/store.test.ts has the store's).
const fast = { retries: 4, backoffMs: 10, store: false as const };
let served: ServedWorld;
let rpms: WorldRpm[];
let work: string;
let counter = 0;

const rpm = (name: string): WorldRpm => rpms.find((r) => r.locked.name === name)!;
/** Requests for r's file since the mark (served.server.requests.length before the step). */
const requestsFor = (r: WorldRpm, mark: number) =>
  served.server.requests.slice(mark).filter((q) => q.path === r.urlPath);

/** The environment of a CLI run with a store of its own: it downloads. */
const freshStore = (): NodeJS.ProcessEnv => ({ ...process.env, ISOMOCK_STORE: join(work, `store-${++counter}`) });

/** A fresh output directory and a lockfile for the given packages. */
function setup(picked: WorldRpm[]): { out: string; lockfile: string } {
  const dir = join(work, `case-${++counter}`);
  return {
    out: join(dir, 'repo'),
    lockfile: writeLockfile(dir, 'buildroot_lock.json', lockfileOf(picked.map((r) => r.locked))),
  };
}

function assertComplete(out: string, picked: WorldRpm[]): void {
  for (const r of picked) assert.equal(sha256(join(out, r.file)), sha256(r.source), `${r.file} is the world's file`);
  const rpmFiles = readdirSync(out)
    .filter((f) => f.endsWith('.rpm'))
    .sort();
  assert.deepEqual(rpmFiles, picked.map((r) => r.file).sort());
  assert.deepEqual(
    readdirSync(out).filter((f) => f.startsWith('.') && f !== '.isomock-state.json'),
    [],
    'no partial files, temp dirs or lock left',
  );
}

async function dnfNevras(out: string): Promise<string[]> {
  const { stdout } = await execFileAsync('dnf', [
    '-q',
    '--disableplugin=local',
    '--releasever=1',
    `--setopt=cachedir=${join(out, '..', 'dnf-cache')}`,
    '--setopt=reposdir=/nonexistent',
    `--repofrompath=iso,${out}`,
    '--repo=iso',
    'repoquery',
    '--qf',
    '%{name}-%{epoch}:%{version}-%{release}.%{arch}',
  ]);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace('-0:', '-'))
    .sort();
}

async function rejectsWithCode(promise: Promise<unknown>, exitCode: number, message: RegExp): Promise<IsomockError> {
  let caught: unknown;
  await promise.catch((err) => (caught = err));
  assert.ok(caught instanceof IsomockError, `an IsomockError, got ${String(caught)}`);
  assert.equal(caught.exitCode, exitCode);
  assert.match(caught.message, message);
  return caught;
}

before(async () => ({ served, rpms, work } = await startWorld(`rpm-${process.pid}`, faults)));
after(() => stopWorld(served, work));

describe('isolated-repo: downloads', () => {
  it('downloads and verifies every locked RPM, and dnf reads the repository', async () => {
    const { out, lockfile } = setup(rpms);
    const result = await isolatedRepo({ lockfile, outputRepo: out, ...fast });
    assert.equal(result.rpms, rpms.length);
    assert.equal(result.downloaded, rpms.length);
    assert.equal(
      result.bytesDownloaded,
      rpms.reduce((n, r) => n + statSync(r.source).size, 0),
    );
    assert.ok(result.repodataWritten);
    assertComplete(out, rpms);
    assert.deepEqual(await dnfNevras(out), rpms.map((r) => nevra(r.locked)).sort());

    // The second run: no request, no re-reading, repodata untouched.
    const repomd = statSync(join(out, 'repodata', 'repomd.xml'));
    const seen = served.server.requests.length;
    const again = await isolatedRepo({ lockfile, outputRepo: out, ...fast });
    assert.equal(served.server.requests.length, seen, 'nothing requested');
    assert.deepEqual([again.downloaded, again.reused, again.repodataWritten], [0, rpms.length, false]);
    assert.equal(statSync(join(out, 'repodata', 'repomd.xml')).mtimeMs, repomd.mtimeMs);
  });

  it('retries HTTP 500 and 503 and recovers', async () => {
    const picked = [rpm('bash'), rpm('sed'), rpm('grep')];
    const { out, lockfile } = setup(picked);
    const mark = served.server.requests.length;
    faults.set(rpm('bash').urlPath, { status: 503, times: 2 });
    faults.set(rpm('sed').urlPath, { status: 500, times: 1 });
    await isolatedRepo({ lockfile, outputRepo: out, ...fast });
    assert.deepEqual(
      requestsFor(rpm('bash'), mark).map((q) => q.status),
      [503, 503, 200],
    );
    assert.deepEqual(
      requestsFor(rpm('sed'), mark).map((q) => q.status),
      [500, 200],
    );
    assertComplete(out, picked);
  });

  it('gives up on a server that keeps failing, naming the URL, and leaves no repository', async () => {
    const { out, lockfile } = setup([rpm('gzip')]);
    faults.set(rpm('gzip').urlPath, { status: 503 });
    try {
      await rejectsWithCode(
        isolatedRepo({ lockfile, outputRepo: out, ...fast }),
        1,
        /download failed after 5 attempts: .*gzip.*HTTP 503/,
      );
    } finally {
      faults.delete(rpm('gzip').urlPath);
    }
    assert.ok(!existsSync(join(out, 'repodata')));
  });

  it('resumes a connection cut mid-body with a Range request', async () => {
    const glibc = rpm('glibc');
    const { out, lockfile } = setup([glibc]);
    const mark = served.server.requests.length;
    faults.set(glibc.urlPath, { cutAfter: 300_000, times: 1 });
    await isolatedRepo({ lockfile, outputRepo: out, ...fast });
    const [cut, resumed, ...more] = requestsFor(glibc, mark);
    assert.equal(more.length, 0);
    assert.equal(cut!.range, undefined);
    assert.match(resumed!.range ?? '', /^bytes=[1-9]\d*-$/, 'the second request resumes');
    assert.equal(resumed!.status, 206);
    assertComplete(out, [glibc]);
  });

  it('drops a stalled connection and downloads again', async () => {
    const { out, lockfile } = setup([rpm('tar')]);
    const mark = served.server.requests.length;
    faults.set(rpm('tar').urlPath, { chunkDelayMs: 3000, times: 1 });
    const result = await isolatedRepo({ lockfile, outputRepo: out, ...fast, timeoutSeconds: 0.3 });
    assert.equal(requestsFor(rpm('tar'), mark).length, 2);
    assert.equal(result.downloaded, 1);
    assertComplete(out, [rpm('tar')]);
  });

  it('refuses wrong bytes with an error naming the file; nothing half-written is named *.rpm', async () => {
    const picked = [rpm('bash'), rpm('which')];
    const { out, lockfile } = setup(picked);
    faults.set(rpm('bash').urlPath, { corrupt: true });
    try {
      await rejectsWithCode(
        isolatedRepo({ lockfile, outputRepo: out, ...fast }),
        1,
        new RegExp(`${rpm('bash').file.replace(/[+.]/g, '\\$&')} downloaded from http://127\\.0\\.0\\.1:\\d+/`),
      );
    } finally {
      faults.delete(rpm('bash').urlPath);
    }
    assert.ok(!readdirSync(out).some((f) => f.startsWith('bash')), 'no bash*.rpm');
    assert.ok(
      !readdirSync(out).some((f) => f.includes('bash') && f.endsWith('.isomock-part')),
      'the wrong bytes are not kept',
    );
    assert.ok(!existsSync(join(out, 'repodata')));
  });

  it('completes a partial file with a Range request, and starts over when the partial was wrong', async () => {
    const glibc = rpm('glibc');
    const { out, lockfile } = setup([glibc]);
    mkdirSync(out, { recursive: true });
    const part = join(out, `.${glibc.file}.isomock-part`);
    writeFileSync(part, readFileSync(glibc.source).subarray(0, 12345));
    const mark = served.server.requests.length;
    await isolatedRepo({ lockfile, outputRepo: out, ...fast });
    assert.deepEqual(
      requestsFor(glibc, mark).map((q) => [q.status, q.range]),
      [[206, 'bytes=12345-']],
    );
    assertComplete(out, [glibc]);

    const second = setup([glibc]);
    mkdirSync(second.out, { recursive: true });
    writeFileSync(join(second.out, `.${glibc.file}.isomock-part`), Buffer.alloc(12345, 7));
    const mark2 = served.server.requests.length;
    await isolatedRepo({ lockfile: second.lockfile, outputRepo: second.out, ...fast });
    assert.deepEqual(
      requestsFor(glibc, mark2).map((q) => q.range),
      ['bytes=12345-', undefined],
    );
    assertComplete(second.out, [glibc]);
  });

  it('leaves a foreign file in the way alone', async () => {
    const { out, lockfile } = setup([rpm('sed')]);
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, rpm('sed').file), 'not an rpm');
    await rejectsWithCode(
      isolatedRepo({ lockfile, outputRepo: out, ...fast }),
      1,
      /repo\/sed-[^ ]*\.rpm is in the way: sed-[^ ]*: truncated RPM file .*; move it away/,
    );
    assert.equal(readFileSync(join(out, rpm('sed').file), 'utf8'), 'not an rpm');
  });

  it('notices a verified file changed since the last run', async () => {
    const picked = [rpm('sed'), rpm('grep')];
    const { out, lockfile } = setup(picked);
    await isolatedRepo({ lockfile, outputRepo: out, ...fast });
    const file = join(out, rpm('sed').file);
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(file, bytes);
    await rejectsWithCode(isolatedRepo({ lockfile, outputRepo: out, ...fast }), 1, /is in the way: .*(digest|SIGMD5)/);
  });
});

describe('isolated-repo: bad lockfiles are refused before any download', () => {
  const good = (): WorldRpm['locked'] => ({ ...rpm('bash').locked });
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['not JSON', () => '{"version": "1.1.0",', /not JSON/],
    ['an unknown version', () => ({ ...lockfileOf([good()]), version: '2.0.0' }), /unsupported version "2\.0\.0"/],
    [
      'a schema violation',
      () => JSON.stringify(lockfileOf([{ ...good(), sigmd5: undefined as unknown as string }])),
      /sigmd5/,
    ],
    [
      'a path-traversal url',
      () => lockfileOf([{ ...good(), url: `${served.url}base/..%2F..%2Fescape.rpm` }]),
      /does not end in a safe \*\.rpm file name/,
    ],
    ['a non-http url', () => lockfileOf([{ ...good(), url: 'file:///etc/bash.rpm' }]), /is not http\(s\)/],
    [
      'two packages saving as one file',
      () => lockfileOf([good(), { ...rpm('sed').locked, url: good().url }]),
      /both save as bash-/,
    ],
  ];
  for (const [what, data, message] of cases) {
    it(`refuses ${what}`, async () => {
      const dir = join(work, `bad-${++counter}`);
      const lockfile = writeLockfile(dir, 'lock.json', data());
      const seen = served.server.requests.length;
      await rejectsWithCode(isolatedRepo({ lockfile, outputRepo: join(dir, 'repo'), ...fast }), 5, message);
      assert.equal(served.server.requests.length, seen, 'nothing requested');
      assert.ok(!existsSync(join(dir, 'repo')), 'the output directory is not created');
    });
  }
});

describe('isolated-repo: the command', () => {
  function runCli(args: string[], options: { uid?: number; gid?: number } = {}) {
    return new Promise<{ code: number; stderr: string }>((resolve) => {
      const argv =
        options.uid !== undefined
          ? [
              'setpriv',
              `--reuid=${options.uid}`,
              `--regid=${options.gid}`,
              '--clear-groups',
              process.execPath,
              bin,
              ...args,
            ]
          : [process.execPath, bin, ...args];
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: freshStore() });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
    });
  }

  it('prints a summary, exits 0, and is silent with --quiet', async () => {
    const picked = [rpm('bash'), rpm('coreutils')];
    const { out, lockfile } = setup(picked);
    const first = await runCli(['--lockfile', lockfile, '--output-repo', out, '--jobs', '2']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /2\/2 files, .* MiB downloaded, .*\/s/);
    assert.match(
      first.stderr,
      /isolated-repo: 2 RPMs verified in .* \(2 downloaded, 0 already there\).*repodata written/,
    );
    const quiet = await runCli(['--lockfile', lockfile, '--output-repo', out, '-q']);
    assert.deepEqual(quiet, { code: 0, stderr: '' });
  });

  it('exits 5 with one line for a bad lockfile or command line', async () => {
    const dir = join(work, `cli-${++counter}`);
    const lockfile = writeLockfile(
      dir,
      'lock.json',
      lockfileOf([{ ...rpm('bash').locked, url: 'ftp://127.0.0.1/bash.rpm' }]),
    );
    const bad = await runCli(['--lockfile', lockfile, '--output-repo', join(dir, 'repo')]);
    assert.equal(bad.code, 5);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    assert.match(
      bad.stderr,
      /^isomock: error: invalid lockfile .*lock\.json: buildroot\.rpms\[0\] \(bash\): url "ftp:/,
    );
    const missing = await runCli(['--output-repo', join(dir, 'repo')]);
    assert.equal(missing.code, 5);
    assert.match(missing.stderr, /needs --lockfile FILE and --output-repo DIR/);
    assert.equal((await runCli(['--lockfile', lockfile, '--output-repo', dir, '--jobs', '0'])).code, 5);
  });

  it('works as an unprivileged user without any config', async () => {
    const { out, lockfile } = setup([rpm('sed')]);
    const parent = join(out, '..');
    chownSync(parent, 65534, 65534);
    const result = await runCli(['--lockfile', lockfile, '--output-repo', out], { uid: 65534, gid: 65534 });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(statSync(join(out, rpm('sed').file)).uid, 65534);
    assertComplete(out, [rpm('sed')]);
  });

  it('killed mid-download, leaves no repository and a partial file the next run resumes', async () => {
    const picked = [rpm('glibc'), rpm('sed')];
    const { out, lockfile } = setup(picked);
    faults.set(rpm('glibc').urlPath, { chunkDelayMs: 100, times: 1 });
    const child = spawn(process.execPath, [bin, '--lockfile', lockfile, '--output-repo', out, '-q'], {
      stdio: 'ignore',
      env: freshStore(),
    });
    const part = join(out, `.${rpm('glibc').file}.isomock-part`);
    while (!existsSync(part) || statSync(part).size < 200_000) await sleep(20);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    assert.ok(!existsSync(join(out, 'repodata')), 'no repodata after an interrupted first run');
    assert.ok(!existsSync(join(out, rpm('glibc').file)));
    const mark = served.server.requests.length;
    const result = await isolatedRepo({ lockfile, outputRepo: out, ...fast });
    assert.match(requestsFor(rpm('glibc'), mark)[0]!.range ?? '', /^bytes=\d{6,}-$/);
    assert.ok(result.downloaded >= 1);
    assertComplete(out, picked);
  });
});
