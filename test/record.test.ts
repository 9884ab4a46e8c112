/**
 * isomock's record beside the lockfile (buildroot_lock.isomock.json): its
 * format, what --calculate-build-dependencies writes into it (checked
 * against the world's files), and what it catches that Mock's lockfile
 * cannot: an RPM re-signed with the same SIGMD5 but other bytes, refused by
 * isolated-repo and by --isolated-build; without a record everything works
 * as before.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { isolatedRepo } from '../src/commands/isolated-repo.js';
import { IsomockError } from '../src/errors.js';
import { parseLockfile, rpmFileName, type LockedRpm } from '../src/lockfile/lockfile.js';
import { parseRecord, serializeRecord, recordKey, recordPathFor, type IsomockRecord } from '../src/lockfile/record.js';
import { createSigner } from '../world/gen/sign.js';
import { serveDirectory, type StaticServer } from '../world/server.js';
import { serveWorld, type ServedWorld } from './helpers/world.js';
import { emptyStore, isomock } from './helpers/isomock.js';
import { isomockMounts } from './helpers/mounts.js';
import { lockfileOf, worldRpms, writeLockfile, type WorldRpm } from './helpers/isolated-repo.js';

const scratch = '/tmp/iso-record';
// No content store: each case downloads the file its lockfile names (the store has tests of its own).
const fast = { retries: 2, backoffMs: 10, store: false as const };
let served: ServedWorld;
let work: string;

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const sigmd5 = (path: string): string =>
  execFileSync('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', '%{SIGMD5}', path], { encoding: 'utf8' });

/** The record isomock would write for world files, as the oracle computes it. */
function recordOf(rpms: { locked: LockedRpm; source: string }[]): IsomockRecord {
  return {
    isomock_lock_version: 1,
    packages: Object.fromEntries(
      rpms.map((r) => [
        recordKey(r.locked),
        { sigmd5: r.locked.sigmd5, sha256: sha256(r.source), size: statSync(r.source).size, repo: null, mirror: null },
      ]),
    ),
  };
}

async function rejects(promise: Promise<unknown>, message: RegExp): Promise<void> {
  let caught: unknown;
  await promise.catch((err) => (caught = err));
  assert.ok(caught instanceof IsomockError, `an IsomockError, got ${String(caught)}`);
  assert.match(caught.message, message);
}

before(async () => {
  served = await serveWorld();
  mkdirSync(scratch, { recursive: true });
  work = join(scratch, `test-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
});

after(async () => {
  await served?.close();
  if (work && isomockMounts(work).length === 0) rmSync(work, { recursive: true, force: true });
});

describe('the record format', () => {
  it('is written with sorted keys and a 2-space indent, and read back', () => {
    const record: IsomockRecord = {
      packages: {
        'a-0:1-1.x86_64': { size: 3, sha256: 'ab'.repeat(32), sigmd5: 'cd'.repeat(16), repo: 'base', mirror: null },
      },
      isomock_lock_version: 1,
    };
    const text = serializeRecord(record);
    assert.equal(
      text,
      `{\n  "isomock_lock_version": 1,\n  "packages": {\n    "a-0:1-1.x86_64": {\n      "mirror": null,\n      "repo": "base",\n` +
        `      "sha256": "${'ab'.repeat(32)}",\n      "sigmd5": "${'cd'.repeat(16)}",\n      "size": 3\n    }\n  }\n}\n`,
    );
    assert.deepEqual(parseRecord(text, 'x'), record);
    assert.equal(recordPathFor('/r/buildroot_lock.json'), '/r/buildroot_lock.isomock.json');
  });

  it('refuses a record it cannot trust, naming the entry', () => {
    const bad = (data: unknown, message: RegExp): void =>
      assert.throws(
        () => parseRecord(JSON.stringify(data), 'rec.json'),
        (e: unknown) => e instanceof IsomockError && e.exitCode === 5 && message.test(e.message),
      );
    bad({ isomock_lock_version: 2, packages: {} }, /rec\.json: unsupported isomock_lock_version 2/);
    bad({ isomock_lock_version: 1, packages: [] }, /packages is not an object/);
    const entry = { sigmd5: '0'.repeat(32), sha256: null, size: null, repo: null, mirror: null };
    bad(
      { isomock_lock_version: 1, packages: { 'a-0:1-1.x86_64': { ...entry, sha256: 'xyz' } } },
      /packages\["a-0:1-1\.x86_64"\]: sha256/,
    );
    bad({ isomock_lock_version: 1, packages: { 'a-1-1.x86_64': entry } }, /not N-E:V-R\.A/);
    assert.throws(() => parseRecord('{', 'rec.json'), /rec\.json: not JSON/);
  });
});

const dynSrpm = (): string =>
  join(served.world.dir, served.world.manifest.srpms.find((s) => s.name === 'dyn-br-synth')!.file);

/** --calculate-build-dependencies with a config dir; returns the result dir. */
async function calculate(configDir: string, name: string): Promise<string> {
  const resultdir = join(work, name);
  const r = await isomock([
    '--configdir',
    configDir,
    '-r',
    'world-1-x86_64',
    '--config-opts',
    `basedir=${join(work, 'lib')}`,
    '--config-opts',
    `cache_topdir=${join(work, `cache-${name}`)}`,
    '--resultdir',
    resultdir,
    '-q',
    '--calculate-build-dependencies',
    dynSrpm(),
  ]);
  assert.equal(r.code, 0, r.stderr);
  return resultdir;
}

describe('what --calculate-build-dependencies records', () => {
  it('writes the record beside the lockfile: every locked package, sha256 and size of the world file, its repo', async () => {
    const resultdir = await calculate(served.configDir, 'calc');
    const lock = parseLockfile(readFileSync(join(resultdir, 'buildroot_lock.json'), 'utf8'), 'lock');
    const text = readFileSync(join(resultdir, 'buildroot_lock.isomock.json'), 'utf8');
    const record = parseRecord(text, 'record');
    assert.equal(text, serializeRecord(record), 'written as serializeRecord writes it');
    assert.deepEqual(Object.keys(record.packages).sort(), lock.buildroot.rpms.map(recordKey).sort());
    for (const rpm of lock.buildroot.rpms) {
      const entry = record.packages[recordKey(rpm)]!;
      // The oracle: the world's file at the URL's path.
      const file = join(served.world.dir, decodeURIComponent(new URL(rpm.url).pathname));
      assert.deepEqual(
        [entry.sha256, entry.size, entry.sigmd5, entry.mirror],
        [sha256(file), statSync(file).size, rpm.sigmd5, null],
        rpm.name,
      );
      const repoDir = new URL(rpm.url).pathname.split('/')[1];
      assert.equal(entry.repo, `world-${repoDir}`, rpm.name);
    }
  });

  it('names the mirror a metalink repository was served from', async () => {
    // The world's config with the base repo behind a metalink (checksummed as MirrorManager does).
    const configDir = join(work, 'metalink-cfg');
    cpSync(served.configDir, configDir, { recursive: true });
    const mirrorBase = `${served.url}base/`;
    const repomd = Buffer.from(await (await fetch(`${mirrorBase}repodata/repomd.xml`)).arrayBuffer());
    const metalink = join(work, 'metalink.xml');
    writeFileSync(
      metalink,
      `<?xml version="1.0" encoding="utf-8"?>\n<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic"><files><file name="repomd.xml">` +
        `<verification><hash type="sha256">${createHash('sha256').update(repomd).digest('hex')}</hash></verification>` +
        `<resources><url protocol="http" type="http" preference="100">${mirrorBase}repodata/repomd.xml</url></resources></file></files></metalink>\n`,
    );
    const cfg = join(configDir, 'world-1-x86_64.cfg');
    const text = readFileSync(cfg, 'utf8');
    assert.ok(text.includes(`baseurl=${mirrorBase}\n`));
    writeFileSync(cfg, text.replace(`baseurl=${mirrorBase}\n`, `metalink=file://${metalink}\n`));

    const record = parseRecord(
      readFileSync(join(await calculate(configDir, 'calc-metalink'), 'buildroot_lock.isomock.json'), 'utf8'),
      'record',
    );
    const entries = Object.values(record.packages);
    assert.ok(entries.some((e) => e.repo === 'world-base'));
    for (const e of entries) assert.equal(e.mirror, e.repo === 'world-base' ? mirrorBase : null);
    assert.ok(entries.every((e) => e.sha256 !== null));
  });

  it('records a live mirror when the metalink names a dead one first', async () => {
    const configDir = join(work, 'metalink-dead-cfg');
    cpSync(served.configDir, configDir, { recursive: true });
    const mirrorBase = `${served.url}base/`;
    const deadBase = 'http://127.0.0.1:1/base/';
    const repomd = Buffer.from(await (await fetch(`${mirrorBase}repodata/repomd.xml`)).arrayBuffer());
    const metalink = join(work, 'metalink-dead.xml');
    const url = (base: string, preference: number): string =>
      `<url protocol="http" type="http" preference="${preference}">${base}repodata/repomd.xml</url>`;
    writeFileSync(
      metalink,
      `<?xml version="1.0" encoding="utf-8"?>\n<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic"><files><file name="repomd.xml">` +
        `<verification><hash type="sha256">${createHash('sha256').update(repomd).digest('hex')}</hash></verification>` +
        `<resources>${url(deadBase, 100)}${url(mirrorBase, 90)}</resources></file></files></metalink>\n`,
    );
    const cfg = join(configDir, 'world-1-x86_64.cfg');
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(`baseurl=${mirrorBase}\n`, `metalink=file://${metalink}\n`));
    const dir = await calculate(configDir, 'calc-metalink-dead');
    const lock = parseLockfile(readFileSync(join(dir, 'buildroot_lock.json'), 'utf8'), 'lock');
    assert.ok(lock.buildroot.rpms.some((r) => r.url.startsWith(mirrorBase)));
    assert.ok(
      lock.buildroot.rpms.every((r) => !r.url.startsWith(deadBase)),
      'no URL on the dead mirror',
    );
  });
});

describe('an RPM re-signed: same SIGMD5, other bytes', () => {
  let mirror: StaticServer;
  let victim: WorldRpm;
  let others: WorldRpm[];
  let resigned: string;

  before(async () => {
    const rpms = await worldRpms(served);
    // An unsigned package: the lockfile's signature check has nothing to compare.
    victim = rpms.find((r) => r.locked.signature === null && r.locked.name === 'sed')!;
    others = rpms.filter((r) => ['grep', 'which'].includes(r.locked.name));
    const mirrorDir = join(work, 'mirror');
    mkdirSync(mirrorDir, { recursive: true });
    resigned = join(mirrorDir, victim.file);
    copyFileSync(victim.source, resigned);
    const signer = await createSigner();
    try {
      await signer.sign([resigned], false);
    } finally {
      await signer.close();
    }
    mirror = await serveDirectory(mirrorDir);
  });
  after(async () => {
    await mirror?.close();
  });

  it('really keeps the SIGMD5 and the size, and changes the bytes', () => {
    assert.equal(sigmd5(resigned), victim.locked.sigmd5);
    // rpmsign fills the signature header's reserved space: only the SHA-256 tells the files apart.
    assert.equal(statSync(resigned).size, statSync(victim.source).size);
    assert.notEqual(sha256(resigned), sha256(victim.source));
  });

  /** A lockfile whose victim URL serves the re-signed file; the record (when written) has the original's bytes. */
  function setup(name: string, withRecord: boolean): { dir: string; lockfile: string } {
    const dir = join(work, name);
    const locked = [{ ...victim.locked, url: `${mirror.url}${victim.file}` }, ...others.map((r) => r.locked)];
    const lockfile = writeLockfile(dir, 'buildroot_lock.json', lockfileOf(locked));
    if (withRecord) writeFileSync(recordPathFor(lockfile), serializeRecord(recordOf([victim, ...others])));
    return { dir, lockfile };
  }

  it("isolated-repo: without a record it passes (Mock's lockfile cannot tell); with one beside the lockfile it is refused", async () => {
    const { dir, lockfile } = setup('repo-case', false);
    const out = join(dir, 'repo');
    const result = await isolatedRepo({ lockfile, outputRepo: out, ...fast });
    assert.equal(result.rpms, 3);
    assert.equal(sha256(join(out, victim.file)), sha256(resigned));

    // A file verified by SIGMD5 alone is not trusted once a record asks for its SHA-256.
    writeFileSync(recordPathFor(lockfile), serializeRecord(recordOf([victim, ...others])));
    await rejects(
      isolatedRepo({ lockfile, outputRepo: out, ...fast }),
      new RegExp(
        `${victim.file.replace(/[.+]/g, '\\$&')}.* is not the file the buildroot was calculated with: its SHA-256 is ${sha256(resigned)}, the isomock record says ${sha256(victim.source)}`,
      ),
    );
    assert.ok(!existsSync(join(out, 'repodata')), 'no repository that looks complete');
  });

  it('isolated-repo --isomock-record FILE (alias --isomock-lock): a record kept elsewhere is read, and a missing one is an error', async () => {
    const { dir, lockfile } = setup('cli-case', false);
    const record = join(dir, 'elsewhere.json');
    writeFileSync(record, serializeRecord(recordOf([victim, ...others])));
    const out = join(dir, 'repo');
    const refused = await isomock(
      ['isolated-repo', '--lockfile', lockfile, '--output-repo', out, '--isomock-record', record, '-q'],
      { env: emptyStore() },
    );
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /is not the file the buildroot was calculated with/);
    assert.ok(!readdirSync(out).includes(victim.file));

    const absent = await isomock(
      ['isolated-repo', '--lockfile', lockfile, '--output-repo', out, '--isomock-lock', join(dir, 'nope.json'), '-q'],
      { env: emptyStore() },
    );
    assert.equal(absent.code, 5);
    assert.match(absent.stderr, /cannot read isomock record .*nope\.json: ENOENT/);
  });

  it('a record from another lockfile (other SIGMD5) is refused as not belonging to it', async () => {
    const { lockfile } = setup('foreign-case', false);
    const foreign = recordOf([victim, ...others]);
    foreign.packages[recordKey(victim.locked)]!.sigmd5 = '0'.repeat(32);
    writeFileSync(recordPathFor(lockfile), serializeRecord(foreign));
    await rejects(
      isolatedRepo({ lockfile, outputRepo: join(work, 'foreign-case', 'repo'), ...fast }),
      /does not belong to this lockfile/,
    );
  });

  it('a file of another size than recorded is refused, naming both sizes', async () => {
    const lockfile = writeLockfile(
      join(work, 'size-case'),
      'buildroot_lock.json',
      lockfileOf(others.map((r) => r.locked)),
    );
    const record = recordOf(others);
    const grep = others.find((r) => r.locked.name === 'grep')!;
    const size = statSync(grep.source).size;
    record.packages[recordKey(grep.locked)]!.size = size + 1;
    writeFileSync(recordPathFor(lockfile), serializeRecord(record));
    await rejects(
      isolatedRepo({ lockfile, outputRepo: join(work, 'size-case', 'repo'), ...fast }),
      new RegExp(`${grep.file.replace(/[.+]/g, '\\$&')}.* it has ${size} bytes, the isomock record says ${size + 1}`),
    );
  });

  it('--isolated-build refuses a repository holding the re-signed file when the record is beside the lockfile', async () => {
    // The repository as isolated-repo made it from the world, then one file swapped for its re-signed twin.
    const good = join(work, 'good');
    const locked = [victim, ...others];
    const lockfile = writeLockfile(good, 'buildroot_lock.json', lockfileOf(locked.map((r) => r.locked)));
    writeFileSync(recordPathFor(lockfile), serializeRecord(recordOf(locked)));
    const repo = join(good, 'repo');
    await isolatedRepo({ lockfile, outputRepo: repo, ...fast });
    const swapped = join(work, 'swapped');
    cpSync(repo, swapped, { recursive: true });
    copyFileSync(resigned, join(swapped, rpmFileName(victim.locked)));
    const r = await isomock([
      '--isolated-build',
      lockfile,
      swapped,
      '--config-opts',
      `basedir=${join(work, 'lib')}`,
      '--config-opts',
      `cache_topdir=${join(work, 'cache')}`,
      '--resultdir',
      join(work, 'iso'),
      '-q',
      join(served.world.dir, served.world.manifest.srpms[0]!.file),
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`${victim.file.replace(/[.+]/g, '\\$&')} is not the file the buildroot was calculated with`),
    );
  });
});
