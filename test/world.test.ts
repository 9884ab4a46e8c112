/**
 * The world's self-test: the generated distribution, served over real HTTP,
 * installs a buildroot with dnf, and every sample SRPM behaves as world.json
 * says when rpmbuild runs inside that buildroot as an unprivileged user with
 * the network cut.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile, copyFile, chmod, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execStatus, exec } from '../world/gen/exec.js';
import { hostDnfArgs, pythonConfigOpts, serveWorld, ensureWorld, type ServedWorld } from './helpers/world.js';
import type { WorldSrpm } from '../world/manifest.js';
import { acquireLock } from '../world/gen/lock.js';

const builderUid = 1000;

let served: ServedWorld;
let scratch: string;

before(async () => {
  served = await serveWorld();
  scratch = await mkdtemp(join(tmpdir(), 'iso-world-test-'));
});

after(async () => {
  await served?.close();
  if (scratch) await removeRootSafely(scratch);
});

/** Refuses to delete a tree something is still mounted in (a leaked /dev bind would take the host's /dev with it). */
async function removeRootSafely(dir: string): Promise<void> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  const inside = mounts
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && m.startsWith(dir));
  assert.deepEqual(inside, [], `mounts left under ${dir}`);
  await rm(dir, { recursive: true, force: true });
}

describe('world build', () => {
  it('is cached: a second ensureWorld() returns the same directory and key', async () => {
    const again = await ensureWorld();
    assert.equal(again.dir, served.world.dir);
    assert.equal(again.manifest.key, served.world.manifest.key);
  });

  it('serialises builders on the lock: a second taker waits until the first releases', async () => {
    const path = join(scratch, 'world.lock');
    const first = await acquireLock(path);
    let secondHolds = false;
    const second = acquireLock(path).then((lock) => {
      secondHolds = true;
      return lock;
    });
    // The second flock(1) is running and blocked; give it every chance to (wrongly) get through.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(secondHolds, false);
    await first.release();
    await (await second).release();
    assert.equal(secondHolds, true);
  });

  it('has every package file world.json names, in base and updates', async () => {
    const { manifest, dir } = served.world;
    for (const p of manifest.packages) assert.ok((await stat(join(dir, p.file))).isFile(), p.file);
    const names = (n: string): string[] =>
      manifest.packages
        .filter((p) => p.name === n)
        .map((p) => `${p.repo}:${p.version}`)
        .sort();
    assert.deepEqual(names('synth-lib'), ['base:1.0', 'base:2.0']);
    assert.deepEqual(names('synth-tool'), ['base:1.0', 'updates:1.1']);
    assert.ok(manifest.packages.some((p) => p.arch === 'noarch') && manifest.packages.some((p) => p.arch === 'x86_64'));
    assert.ok(manifest.packages.length >= 40);
  });

  it('carries the dependency features the synthetic packages exist for (rpm -qp as oracle)', async () => {
    const rpmq = async (name: string, tag: string): Promise<string> => {
      const p = served.world.manifest.packages.find((x) => x.name === name)!;
      return exec(['rpm', '-qp', `--${tag}`, join(served.world.dir, p.file)]);
    };
    assert.match(await rpmq('synth-app', 'requires'), /^synth-lib >= 2\.0$/m);
    assert.match(await rpmq('synth-app', 'recommends'), /^synth-extra$/m);
    assert.match(await rpmq('synth-rich', 'requires'), /^\(synth-mta-a or synth-mta-b\)$/m);
    assert.match(await rpmq('synth-filedep', 'requires'), /^\/usr\/share\/synth-data\/data\.txt$/m);
    assert.match(await rpmq('synth-conflict-a', 'conflicts'), /^synth-conflict-b$/m);
    assert.match(await rpmq('synth-new', 'obsoletes'), /^synth-old < 2\.0$/m);
    assert.match(await rpmq('glibc', 'provides'), /^rtld\(GNU_HASH\)$/m);
    assert.match(await rpmq('bash', 'provides'), /^\/bin\/sh$/m);
    assert.equal(served.world.manifest.packages.find((p) => p.name === 'synth-epoch')!.epoch, 3);
  });

  it('signs as world.json says: header-only, header+payload, none; the published key verifies them', async () => {
    const { manifest, dir } = served.world;
    const files = manifest.packages.map((p) => join(dir, p.file));
    const out = await exec(['rpm', '-qp', '--qf', '%{RSAHEADER:pgpsig}|%{SIGPGP:pgpsig}\\n', ...files]);
    const seen = out
      .trim()
      .split('\n')
      .map((line): string => {
        const [header, legacy] = line.split('|');
        if (header === '(none)') return legacy === '(none)' ? 'none' : 'legacy-only';
        return legacy === '(none)' ? 'header' : 'header+payload';
      });
    assert.deepEqual(
      seen,
      manifest.packages.map((p): string => p.signature),
    );
    assert.ok(['none', 'header', 'header+payload'].every((k) => seen.includes(k)));

    const db = join(scratch, 'keydb');
    await mkdir(db);
    await exec(['rpmkeys', '--dbpath', db, '--import', join(dir, manifest.gpgKey.file)]);
    const signed = manifest.packages.filter((p) => p.signature !== 'none').map((p) => join(dir, p.file));
    const check = await execStatus(['rpmkeys', '--dbpath', db, '--checksig', ...signed]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.equal(
      check.stdout
        .trim()
        .split('\n')
        .filter((l) => / signatures OK$/.test(l)).length,
      signed.length,
    );
  });

  it('lists /usr/bin file provides in primary.xml and /usr/share ones only in filelists.xml', async () => {
    const repodata = join(served.world.dir, 'base', 'repodata');
    const names = await readdir(repodata);
    const read = async (kind: string): Promise<string> =>
      gunzipSync(
        await readFile(
          join(
            repodata,
            names.find((n) => n.endsWith(`-${kind}.xml.gz`))!,
          ),
        ),
      ).toString('utf8');
    const primary = await read('primary');
    const filelists = await read('filelists');
    assert.match(primary, /<file>\/usr\/bin\/synth-tool<\/file>/);
    assert.doesNotMatch(primary, /<file>\/usr\/share\/synth-data\/data\.txt<\/file>/);
    assert.match(filelists, /<file>\/usr\/share\/synth-data\/data\.txt<\/file>/);
    assert.match(await readFile(join(repodata, 'repomd.xml'), 'utf8'), /<data type="group">/);
  });
});

describe('world configs', () => {
  it('writes a Mock config dir whose chroot configs python3 reads, with repo URLs on the served port', async () => {
    assert.ok((await stat(join(served.configDir, 'site-defaults.cfg'))).isFile());
    for (const name of served.configs) {
      const opts = await pythonConfigOpts(served.configDir, name);
      assert.equal(opts.root, name);
      assert.equal(opts.target_arch, 'x86_64');
      assert.equal(opts.chroot_setup_cmd, 'install @buildsys-build');
      assert.equal((opts.macros as Record<string, string>)['%_dbpath'], '/var/lib/rpm');
      assert.match(opts['dnf.conf'] as string, new RegExp(`baseurl=${served.url}base/`));
    }
  });
});

describe('world self-test: buildroot from the served repos, rpmbuild inside it', () => {
  let root: string;
  let dnf: (args: string[]) => Promise<void>;

  /** rpmbuild (or any command) in root: own mount+pid namespaces, /dev bound, as the build user, net cut unless told. */
  const inRoot = (argv: string[], network = false): Promise<{ code: number; stdout: string; stderr: string }> =>
    execStatus([
      'unshare',
      '-m',
      '-p',
      '-f',
      ...(network ? [] : ['-n']),
      `--mount-proc=${root}/proc`,
      '--',
      'sh',
      '-c',
      'user="$1"; shift; mount --rbind /dev "$0/dev" && exec chroot --userspec="$user" "$0" env -i HOME=/builddir PATH=/usr/bin:/usr/sbin LANG=C "$@"',
      root,
      `${builderUid}:${builderUid}`,
      ...argv,
    ]);

  before(async () => {
    root = join(scratch, 'root');
    const home = join(scratch, 'home');
    await mkdir(root);
    await mkdir(home);
    // Host rpm/dnf read ~/.rpmmacros last: this is what puts the rpmdb where the root's own rpm looks.
    await writeFile(join(home, '.rpmmacros'), `%_dbpath ${served.world.manifest.dbpath}\n`);
    const opts = await pythonConfigOpts(served.configDir, served.configs[0]!);
    const dnfConf = join(scratch, 'dnf.conf');
    await writeFile(dnfConf, opts['dnf.conf'] as string);
    dnf = async (args) => {
      const r = await execStatus([...hostDnfArgs(dnfConf, root, scratch), ...args], {
        env: { ...process.env, HOME: home },
      });
      assert.equal(r.code, 0, `dnf ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
    };
  });

  it("installs @buildsys-build into an empty root; the root's own rpm sees every package", async () => {
    const opts = await pythonConfigOpts(served.configDir, served.configs[0]!);
    await dnf((opts.chroot_setup_cmd as string).split(' '));
    const installed = (await exec(['chroot', root, 'rpm', '-qa', '--qf', '%{NAME}\\n']))
      .trim()
      .split('\n')
      .filter((n) => n !== 'gpg-pubkey');
    const group = [...new Set(served.world.manifest.packages.filter((p) => p.buildsys).map((p) => p.name))];
    assert.deepEqual(installed.sort(), group.sort());
    await exec(['chroot', root, 'useradd', '-m', '-u', String(builderUid), '-d', '/builddir', 'mockbuild']);
  });

  it('resolves the whole world: dnf repoclosure finds no unresolved dependency', async () => {
    await dnf(['repoclosure']);
  });

  async function prepare(srpm: WorldSrpm): Promise<{ path: string; top: string }> {
    const inside = `/builddir/${srpm.name}.src.rpm`;
    await copyFile(join(served.world.dir, srpm.file), join(root, inside));
    await chmod(join(root, inside), 0o644);
    const top = `/builddir/build-${srpm.name}`;
    await dnf(['builddep', join(root, inside)]);
    // Dynamic BuildRequires: rpmbuild -rr exits 11 and writes a buildreqs.nosrc.rpm until all are installed.
    let rounds = 0;
    for (;;) {
      const r = await inRoot(['rpmbuild', '-rr', '--define', `_topdir ${top}`, inside]);
      if (r.code === 0) break;
      assert.equal(r.code, 11, r.stderr);
      const nosrc = (await readdir(join(root, top, 'SRPMS'))).find((f) => f.endsWith('.buildreqs.nosrc.rpm'))!;
      await dnf(['builddep', join(root, top, 'SRPMS', nosrc)]);
      rounds += 1;
      assert.ok(rounds <= 5, 'dynamic BuildRequires do not converge');
    }
    assert.equal(rounds, srpm.dynamicRounds);
    return { path: inside, top };
  }

  async function builtNames(top: string): Promise<string[]> {
    const files: string[] = [];
    const rpms = join(root, top, 'RPMS');
    for (const arch of await readdir(rpms))
      for (const f of await readdir(join(rpms, arch))) files.push(join(rpms, arch, f));
    if (files.length === 0) return [];
    return (await exec(['rpm', '-qp', '--qf', '%{NAME}\\n', ...files])).trim().split('\n').sort();
  }

  const byExpectation = (expect: WorldSrpm['expect']): WorldSrpm[] =>
    served.world.manifest.srpms.filter((s) => s.expect === expect);

  it('builds every "builds" SRPM offline as the build user, producing its binary RPMs', async () => {
    const builds = byExpectation('builds');
    assert.ok(builds.length >= 3);
    for (const srpm of builds) {
      const { path, top } = await prepare(srpm);
      const r = await inRoot(['rpmbuild', '--rebuild', '--define', `_topdir ${top}`, path]);
      assert.equal(r.code, 0, `${srpm.name}:\n${r.stderr}`);
      assert.deepEqual(await builtNames(top), [...srpm.binaries].sort(), srpm.name);
      const owner = (await stat(join(root, top, 'RPMS'))).uid;
      assert.equal(owner, builderUid, 'rpmbuild ran as the build user');
    }
  });

  it('fails the "fails" SRPM in %build', async () => {
    for (const srpm of byExpectation('fails')) {
      const { path, top } = await prepare(srpm);
      const r = await inRoot(['rpmbuild', '--rebuild', '--define', `_topdir ${top}`, path]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Bad exit status from .*\(%build\)/);
    }
  });

  it('fails the network SRPM when the network is cut and builds it when it is not', async () => {
    const listener: Server = createServer((socket) => socket.end());
    let connections = 0;
    listener.on('connection', () => (connections += 1));
    await new Promise<void>((ok) => listener.listen(0, '127.0.0.1', ok));
    try {
      const port = (listener.address() as { port: number }).port;
      for (const srpm of byExpectation('needs-network')) {
        const { path, top } = await prepare(srpm);
        const argv = [
          'rpmbuild',
          '--rebuild',
          '--define',
          `_topdir ${top}`,
          '--define',
          `${served.world.manifest.netProbeMacro} ${port}`,
          path,
        ];
        const cut = await inRoot(argv);
        assert.notEqual(cut.code, 0);
        assert.match(cut.stderr, /Network is unreachable|Connection refused/);
        assert.equal(connections, 0);
        const open = await inRoot(argv, true);
        assert.equal(open.code, 0, open.stderr);
        assert.ok(connections >= 1, 'the build reached the loopback listener');
        assert.deepEqual(await builtNames(top), [...srpm.binaries].sort());
      }
    } finally {
      await new Promise<void>((ok) => listener.close(() => ok()));
    }
  });
});
