/**
 * The content-addressed store under `isomock isolated-repo`, against the world
 * served on loopback (the server counts requests): a warm store makes a new
 * output repository with no request and no copy (hard links: same inode as
 * the entry), a directory others may write gets copies, and the hostile
 * cases: a co-user, a planted file or link under an entry's name, a changed
 * entry (detected on use and fetched again), a store that is not root's.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { isolatedRepo } from '../src/commands/isolated-repo.js';
import type { ServedWorld } from './helpers/world.js';
import {
  lockfileOf,
  sha256File as sha256,
  startWorld,
  stopWorld,
  writeLockfile,
  type WorldRpm,
} from './helpers/isolated-repo.js';
import { isomock } from './helpers/isomock.js';

let served: ServedWorld;
let rpms: WorldRpm[];
let work: string;
let counter = 0;

const rpm = (name: string): WorldRpm => rpms.find((r) => r.locked.name === name)!;

/** A fresh case: its own store, lockfile and output repository. */
function setup(picked: WorldRpm[]) {
  const dir = join(work, `case-${++counter}`);
  const lockfile = writeLockfile(dir, 'buildroot_lock.json', lockfileOf(picked.map((r) => r.locked)));
  return { dir, store: join(dir, 'store'), lockfile, out: (n: number) => join(dir, `repo-${n}`) };
}

const rpmRequests = (mark: number): number =>
  served.server.requests.slice(mark).filter((q) => q.path.endsWith('.rpm')).length;

function assertRepo(out: string, picked: WorldRpm[]): void {
  for (const r of picked) assert.equal(sha256(join(out, r.file)), sha256(r.source), `${r.file} is the world's file`);
  assert.ok(statSync(join(out, 'repodata', 'repomd.xml')).isFile());
}

before(async () => ({ served, rpms, work } = await startWorld(`store-${process.pid}`)));
after(() => stopWorld(served, work));

describe('store: a warm isolated-repo', () => {
  it('makes a second output repository with no request and no copy: each RPM is its store entry, hard-linked', async () => {
    const picked = [rpm('bash'), rpm('glibc'), rpm('sed')];
    const c = setup(picked);
    const cold = await isolatedRepo({ lockfile: c.lockfile, outputRepo: c.out(1), store: c.store });
    assert.equal(cold.downloaded, 3);
    const entries = readdirSync(join(c.store, 'sha256'));
    assert.deepEqual(entries.sort(), picked.map((r) => sha256(r.source)).sort(), 'one entry per RPM, named by SHA-256');
    for (const hex of entries) assert.equal(statSync(join(c.store, 'sha256', hex)).mode & 0o7777, 0o444);
    assert.equal(statSync(c.store).mode & 0o7777, 0o700);

    const mark = served.server.requests.length;
    const warm = await isolatedRepo({ lockfile: c.lockfile, outputRepo: c.out(2), store: c.store });
    assert.equal(served.server.requests.length - mark, 0, 'no network I/O');
    assert.deepEqual(warm.fromStore, { reflink: 0, hardlink: 3, copy: 0 });
    assert.equal(warm.downloaded, 0);
    for (const r of picked) {
      const placed = statSync(join(c.out(2), r.file));
      const entry = statSync(join(c.store, 'sha256', sha256(r.source)));
      assert.equal(placed.ino, entry.ino, `${r.file} is the entry's inode: nothing copied`);
      assert.ok(placed.nlink >= 3, 'linked from the store into both repositories');
    }
    assertRepo(c.out(2), picked);
  });

  it('copies into an output directory others may write, and still makes no request', async () => {
    const picked = [rpm('sed')];
    const c = setup(picked);
    await isolatedRepo({ lockfile: c.lockfile, outputRepo: c.out(1), store: c.store });
    mkdirSync(c.out(2));
    chmodSync(c.out(2), 0o777);
    const mark = served.server.requests.length;
    const shared = await isolatedRepo({ lockfile: c.lockfile, outputRepo: c.out(2), store: c.store });
    assert.equal(rpmRequests(mark), 0);
    assert.deepEqual(shared.fromStore, { reflink: 0, hardlink: 0, copy: 1 });
    const entry = statSync(join(c.store, 'sha256', sha256(picked[0]!.source)));
    assert.notEqual(statSync(join(c.out(2), picked[0]!.file)).ino, entry.ino);
    assertRepo(c.out(2), picked);
  });
});

describe('store: a cold isolated-repo', () => {
  it('reads each downloaded RPM once: checked as it arrives, entered into the store as its own inode, never re-read', async () => {
    const c = setup(rpms);
    const bytes = rpms.reduce((n, r) => n + statSync(r.source).size, 0);
    // The shell reaps isomock, so its /proc io counts every byte isomock and its children (createrepo_c) read.
    const accounted = ['sh', '-c', '"$0" "$@"; s=$?; cat /proc/$$/io; exit $s'];
    const r = await isomock(['isolated-repo', '-q', '--lockfile', c.lockfile, '--output-repo', c.out(1)], {
      env: { ISOMOCK_STORE: c.store },
      wrapper: accounted,
    });
    assert.equal(r.code, 0, r.stderr);
    const io = (key: string): number => Number(new RegExp(`^${key}: (\\d+)$`, 'm').exec(r.stdout)?.[1]);
    // Each RPM's bytes are read from the network once and by createrepo_c once; a re-read for the
    // check or for the store entry would add the whole set again (isomock's own modules are a few MiB).
    assert.ok(io('rchar') < 3 * bytes, `read ${io('rchar')} bytes for ${bytes} bytes of RPMs`);
    assert.ok(io('wchar') < 1.5 * bytes, `wrote ${io('wchar')} bytes for ${bytes} bytes of RPMs: no copy`);
    for (const w of rpms) {
      const placed = statSync(join(c.out(1), w.file));
      const entry = statSync(join(c.store, 'sha256', sha256(w.source)));
      assert.equal(placed.ino, entry.ino, `${w.file}: the download is the store entry`);
      assert.equal(entry.mode & 0o7777, 0o444);
    }
    assertRepo(c.out(1), rpms);
  });
});

describe('store: hostile', () => {
  it('detects a changed entry on use, says so in one line, and fetches it again', async () => {
    const picked = [rpm('sed')];
    const c = setup(picked);
    await isolatedRepo({ lockfile: c.lockfile, outputRepo: c.out(1), store: c.store });
    const entry = join(c.store, 'sha256', sha256(picked[0]!.source));
    // Root writes the entry in place (as through a hard-linked repository file): the mode stays 0444.
    const bytes = readFileSync(entry);
    bytes[bytes.length - 100]! ^= 0xff;
    writeFileSync(entry, bytes);
    assert.equal(statSync(entry).mode & 0o7777, 0o444);
    const notices: string[] = [];
    const mark = served.server.requests.length;
    const r = await isolatedRepo({
      lockfile: c.lockfile,
      outputRepo: c.out(2),
      store: c.store,
      onNotice: (m) => notices.push(m),
    });
    assert.equal(rpmRequests(mark), 1, 'fetched again');
    assert.equal(r.downloaded, 1);
    assert.equal(
      notices.filter((n) => /store entry sha256:[0-9a-f]{64} was .*removed, it is fetched again/.test(n)).length,
      1,
    );
    assertRepo(c.out(2), picked);
    assert.equal(sha256(entry), sha256(picked[0]!.source), 'the store holds the right bytes again');
  });

  it('removes a planted link or foreign file under an entry name without following it, and fetches again', async () => {
    const picked = [rpm('sed'), rpm('bash')];
    const c = setup(picked);
    await isolatedRepo({ lockfile: c.lockfile, outputRepo: c.out(1), store: c.store });
    const target = join(c.dir, 'target');
    writeFileSync(target, 'not an rpm');
    const [sed, bash] = picked.map((r) => join(c.store, 'sha256', sha256(r.source)));
    unlinkSync(sed!);
    symlinkSync(target, sed!);
    chownSync(bash!, 1000, 1000);
    const mark = served.server.requests.length;
    const r = await isolatedRepo({ lockfile: c.lockfile, outputRepo: c.out(2), store: c.store });
    assert.equal(rpmRequests(mark), 2);
    assert.equal(r.downloaded, 2);
    assert.equal(readFileSync(target, 'utf8'), 'not an rpm', 'the link target is untouched');
    assert.ok(statSync(sed!).isFile() && statSync(bash!).uid === 0, 'the entries are root-owned files again');
    assertRepo(c.out(2), picked);
  });

  it('refuses, with one line, a store that is a link, or that a co-user owns or owns a part of', async () => {
    const picked = [rpm('sed')];
    const c = setup(picked);
    const cases: [string, () => void, RegExp][] = [
      ['link', () => symlinkSync(join(c.dir, 'elsewhere'), c.store), /is a symbolic link/],
      ['co-user', () => (mkdirSync(c.store, { mode: 0o700 }), chownSync(c.store, 1000, 1000)), /owned by uid 1000/],
      [
        'a co-user directory inside',
        () => (mkdirSync(join(c.store, 'sha256'), { recursive: true }), chownSync(join(c.store, 'sha256'), 1000, 1000)),
        /sha256 is refused: owned by uid 1000/,
      ],
    ];
    for (const [what, plant, message] of cases) {
      rmSync(c.store, { recursive: true, force: true });
      mkdirSync(join(c.dir, 'elsewhere'), { recursive: true });
      plant();
      const r = await isomock(['isolated-repo', '-q', '--lockfile', c.lockfile, '--output-repo', c.out(1)], {
        env: { ISOMOCK_STORE: c.store },
      });
      assert.equal(r.code, 1, `${what}: ${r.stderr}`);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `${what}: one line, not:\n${r.stderr}`);
      assert.match(lines[0]!, /^isomock: error: store \/.* is refused: /);
      assert.match(lines[0]!, message, what);
      assert.deepEqual(readdirSync(join(c.dir, 'elsewhere')), [], `${what}: nothing written through`);
    }
  });

  it('closes a store of its own that others could enter (0755 becomes 0700), and uses it', async () => {
    const picked = [rpm('sed')];
    const c = setup(picked);
    mkdirSync(c.store, { mode: 0o755 });
    chmodSync(c.store, 0o755);
    const r = await isolatedRepo({ lockfile: c.lockfile, outputRepo: c.out(1), store: c.store });
    assert.equal(r.downloaded, 1);
    assert.equal(statSync(c.store).mode & 0o7777, 0o700);
    assert.equal(readdirSync(join(c.store, 'sha256')).length, 1);
  });

  it('keeps a co-user out: the store cannot be listed, and a hard-linked RPM cannot be written', async () => {
    const picked = [rpm('sed')];
    const c = setup(picked);
    await isolatedRepo({ lockfile: c.lockfile, outputRepo: c.out(1), store: c.store });
    chmodSync(c.dir, 0o755);
    const asCoUser = (...argv: string[]) =>
      spawnSync('setpriv', ['--reuid=1000', '--regid=1000', '--clear-groups', ...argv], { encoding: 'utf8' });
    assert.notEqual(asCoUser('ls', c.store).status, 0, 'the store is closed to others');
    const placed = join(c.out(1), picked[0]!.file);
    assert.notEqual(asCoUser('sh', '-c', `echo x >> '${placed}'`).status, 0, 'the linked entry is read-only');
    assert.equal(sha256(placed), sha256(picked[0]!.source));
  });
});
