import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IsomockError } from '../src/errors.js';
import { loadRepository, packageLocation, readChangelogs, type Repository } from '../src/repo/repository.js';
import { type Provide, type RepoPackage } from '../src/repo/package.js';
import { nevra as formatNevra } from '../src/rpm/nevra.js';
import { buildFixtureRpms, dnfOracle, makeRepo, type Compression, type Oracle } from './helpers/repo-fixture.js';

const flagSymbols: Record<string, string> = { EQ: '=', LT: '<', LE: '<=', GT: '>', GE: '>=' };

/** A Provide as dnf prints it ("name = 1:2.0-1"). */
function dnfProvide(p: Provide): string {
  if (!p.flags) return p.name;
  const epoch = p.epoch && p.epoch !== '0' ? `${p.epoch}:` : '';
  return `${p.name} ${flagSymbols[p.flags]} ${epoch}${p.version}${p.release ? `-${p.release}` : ''}`;
}

function asOracle(pkg: RepoPackage) {
  return {
    name: pkg.name,
    epoch: pkg.epoch,
    version: pkg.version,
    release: pkg.release,
    arch: pkg.arch,
    location: pkg.locationHref,
    base: pkg.locationBase ?? null,
    size: pkg.size,
    installsize: pkg.installedSize,
    sourcerpm: pkg.sourceRpm,
    checksum: [pkg.checksum.type, pkg.checksum.value],
    provides: pkg.provides.map(dnfProvide).sort(),
    files: [...pkg.files].sort(),
  };
}

const byNevra = (a: { name: string; version: string; release: string }, b: typeof a) =>
  `${a.name}-${a.version}-${a.release}`.localeCompare(`${b.name}-${b.version}-${b.release}`);

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof IsomockError, `not an IsomockError: ${String(error)}`);
    assert.match(error.message, pattern);
    assert.equal(error.exitCode, 30);
    return true;
  });
}

let scratch: string;
let rpms: string;
let oracle: Oracle;
const repos = new Map<Compression, string>();

before(() => {
  mkdirSync('/tmp/iso-repo', { recursive: true });
  scratch = mkdtempSync('/tmp/iso-repo/test-');
  rpms = buildFixtureRpms(join(scratch, 'build'));
  for (const compression of ['gz', 'xz', 'bz2', 'zstd'] as const) {
    mkdirSync(join(scratch, compression));
    repos.set(compression, makeRepo(rpms, join(scratch, compression, 'repo'), compression));
  }
  oracle = dnfOracle(`file://${repos.get('gz')}`, join(scratch, 'dnf-cache'));
  assert.equal(oracle.packages.length, 4);
  assert.equal(oracle.groups.length, 2);
});

after(() => rmSync(scratch, { recursive: true, force: true }));

describe('metadata read back as dnf reads it', () => {
  for (const compression of ['gz', 'xz', 'bz2', 'zstd'] as const) {
    test(`${compression}-compressed repodata`, async () => {
      const dir = repos.get(compression)!;
      const files = readdirSync(join(dir, 'repodata'));
      assert.ok(
        files.some((f) => f.endsWith(`-primary.xml.${compression === 'zstd' ? 'zst' : compression}`)),
        files.join(),
      );
      const repo = await loadRepository({ id: 'fixture', baseurl: [dir] });
      const expected = oracle.packages.map((p) => ({
        ...p,
        provides: [...p.provides].sort(),
        files: [...p.files].sort(),
      }));
      assert.deepEqual(repo.index.packages.map(asOracle).sort(byNevra), expected.sort(byNevra));
      assert.deepEqual(
        repo.groups.map((g) => ({ id: g.id, name: g.name, packages: g.packages.map((p) => [p.name, p.type]).sort() })),
        oracle.groups.map((g) => ({ ...g, packages: [...g.packages].sort() })),
      );
      // dnf reads the hand-recompressed zstd metadata too: the recompression is sound.
      if (compression === 'zstd') {
        const zstdOracle = dnfOracle(`file://${dir}`, join(scratch, 'dnf-cache-zstd'));
        assert.deepEqual(zstdOracle.packages.map((p) => p.checksum).sort(), expected.map((p) => p.checksum).sort());
      }
    });
  }
});

describe('lookups', () => {
  let repo: Repository;
  before(async () => {
    repo = await loadRepository({ id: 'fixture', baseurl: [repos.get('gz')!] });
  });

  test('by name, NEVRA and pkgid', () => {
    assert.deepEqual(repo.index.byName('alpha').map(formatNevra).sort(), [
      'alpha-1:1.2-3.noarch',
      'alpha-1:1.3-1.noarch',
    ]);
    assert.equal(repo.index.byNevra('alpha-1:1.2-3.noarch')?.version, '1.2');
    assert.equal(repo.index.byNevra('alpha-1.3-1.noarch')?.version, '1.3', 'no epoch given: any epoch');
    assert.equal(repo.index.byNevra('alpha-0:1.3-1.noarch'), undefined, 'wrong epoch');
    assert.equal(repo.index.byNevra('gamma++-3-1.fc1.noarch')?.name, 'gamma++');
    assert.equal(repo.index.byNevra('beta-2.0~rc1-1.noarch')?.name, 'beta');
    assert.equal(repo.index.byNevra('nonsense'), undefined);
    const beta = repo.index.byName('beta')[0]!;
    assert.equal(repo.index.byPkgid(beta.checksum.value), beta);
  });

  test('what provides a capability or a file, filelists included', async () => {
    assert.deepEqual(repo.index.whatProvides('alpha-cap').map(formatNevra).sort(), [
      'alpha-1:1.2-3.noarch',
      'alpha-1:1.3-1.noarch',
    ]);
    assert.deepEqual(
      repo.index.whatProvides('beta(api)').map((p) => p.name),
      ['beta'],
    );
    assert.deepEqual(
      repo.index.whatProvides('/etc/beta.conf').map((p) => p.name),
      ['beta'],
    );
    assert.deepEqual(repo.index.whatProvides('/usr/share/alpha/data.txt').map(formatNevra), ['alpha-1:1.2-3.noarch']);
    assert.deepEqual(repo.index.whatProvides('no-such-thing'), []);
    const primaryOnly = await loadRepository({ id: 'fixture', baseurl: [repos.get('gz')!] }, { filelists: false });
    assert.deepEqual(primaryOnly.index.whatProvides('/usr/share/alpha/data.txt'), []);
    assert.deepEqual(
      primaryOnly.index.whatProvides('/etc/beta.conf').map((p) => p.name),
      ['beta'],
    );
  });

  test("each package's location holds a file with the recorded checksum and size", () => {
    for (const pkg of repo.index.packages) {
      const data = readFileSync(packageLocation(repo, pkg));
      assert.equal(data.length, pkg.size);
      assert.equal(createHash(pkg.checksum.type).update(data).digest('hex'), pkg.checksum.value);
    }
  });

  test('changelogs from other.xml, as rpm reads them from the packages', async () => {
    const seen = new Map<string, { author: string; text: string }[]>();
    await readChangelogs(repo, (pkgid, log) => seen.set(pkgid, log));
    assert.equal(seen.size, repo.index.packages.length);
    for (const pkg of repo.index.packages) {
      const rpmSays = execFileSync(
        'rpm',
        ['-qp', '--qf', '[%{CHANGELOGNAME}\\t%{CHANGELOGTEXT}\\n]', packageLocation(repo, pkg)],
        { encoding: 'utf8' },
      );
      const ours = seen
        .get(pkg.checksum.value)!
        .map((e) => `${e.author}\t${e.text}\n`)
        .join('');
      assert.equal(ours, rpmSays);
    }
  });
});

describe('broken repositories fail clearly', () => {
  const copyOf = (name: string): string => {
    const dir = join(scratch, 'broken', name);
    mkdirSync(join(scratch, 'broken'), { recursive: true });
    execFileSync('cp', ['-a', repos.get('gz')!, dir]);
    return dir;
  };
  const metadataFile = (dir: string, kind: string): string =>
    join(
      dir,
      'repodata',
      readdirSync(join(dir, 'repodata')).find((f) => f.includes(`-${kind}.xml`))!,
    );

  test('checksum mismatch names the file', async () => {
    const dir = copyOf('checksum');
    const repomd = join(dir, 'repodata', 'repomd.xml');
    const sum = /<data type="primary">\s*<checksum type="sha256">([0-9a-f]+)/.exec(readFileSync(repomd, 'utf8'))![1]!;
    writeFileSync(repomd, readFileSync(repomd, 'utf8').replace(`>${sum}<`, `>${'0'.repeat(64)}<`));
    await rejects(
      loadRepository({ id: 'x', baseurl: [dir] }),
      /-primary\.xml\.gz: sha256 checksum mismatch \(expected 0{64}, got [0-9a-f]{64}/,
    );
  });

  test('truncated file', async () => {
    const dir = copyOf('truncated');
    const filelists = metadataFile(dir, 'filelists');
    truncateSync(filelists, 100);
    await rejects(
      loadRepository({ id: 'x', baseurl: [dir] }),
      /-filelists\.xml\.gz: sha256 checksum mismatch .*; 100 bytes of \d+\)/,
    );
  });

  test('missing file', async () => {
    const dir = copyOf('missing');
    rmSync(metadataFile(dir, 'other'));
    const repo = await loadRepository({ id: 'x', baseurl: [dir] });
    await rejects(
      readChangelogs(repo, () => {}),
      /cannot read .*-other\.xml\.gz: no such file/,
    );
    rmSync(join(dir, 'repodata', 'repomd.xml'));
    await rejects(
      loadRepository({ id: 'x', baseurl: [dir] }),
      /repository x: no usable mirror in baseurl: .* \(cannot read .*repomd\.xml: no such file\)/,
    );
  });

  test('malformed XML with a matching checksum', async () => {
    const dir = copyOf('malformed');
    const repomd = join(dir, 'repodata', 'repomd.xml');
    writeFileSync(repomd, readFileSync(repomd, 'utf8').replace('</repomd>', '</repomdx>'));
    await rejects(
      loadRepository({ id: 'x', baseurl: [dir] }),
      /repomd\.xml: malformed XML: <\/repomdx> closes <repomd> at byte \d+/,
    );
  });

  test('a repository given no location is a configuration error', async () => {
    await assert.rejects(
      loadRepository({ id: 'nowhere' }),
      (e: IsomockError) => e.exitCode === 3 && /nowhere/.test(e.message),
    );
  });
});
