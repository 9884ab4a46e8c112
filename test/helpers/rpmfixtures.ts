/**
 * Small real RPM files made with rpmbuild and rpmsign, once per test process,
 * in a temporary directory: binary (noarch, x86_64) and source packages, every
 * payload compressor, rich dependencies, symlinks, and packages signed with
 * throwaway RSA, DSA and EdDSA keys (header-only and --rpmv3 signatures).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RpmFixture {
  /** Short name used in test messages. */
  label: string;
  path: string;
  /** Long key ID (16 hex) of the key that signed it, if any. */
  keyId?: string;
}

export interface RpmFixtures {
  dir: string;
  all: RpmFixture[];
  /** A package with a 1 MiB incompressible payload, to see that reading stops early. */
  big: RpmFixture;
  /** Signed with --rpmv3 by an RSA key: it has a SIGPGP tag. */
  v3Signed: RpmFixture;
}

const richSpec = `
Name: hello
Epoch: 2
Version: 1.0
Release: 3.fc40
Summary: A fixture with every kind of dependency
License: MIT AND (GPL-2.0-or-later OR BSD-3-Clause)
URL: http://127.0.0.1/hello
BuildArch: noarch
Requires: (foo if bar)
Requires: (a or (b and c >= 2))
Requires: baz >= 1.2
Requires: qux < 3:4.5-6
Requires(post): /bin/sh
Provides: hello-virtual = 2:1.0-3.fc40
Provides: config(hello) = 1.0
Conflicts: old-hello < 1
Obsoletes: hello-legacy <= 0.9
Recommends: extra >= 2
Suggests: (x with y)
Supplements: (z unless w)
Enhances: other-thing
%description
Fixture.
%install
mkdir -p %{buildroot}/usr/share/hello/sub %{buildroot}/etc
echo hi > %{buildroot}/usr/share/hello/a
: > %{buildroot}/usr/share/hello/empty
echo spaced > "%{buildroot}/usr/share/hello/with space"
ln -s a %{buildroot}/usr/share/hello/link
ln -s /nonexistent/target %{buildroot}/usr/share/hello/dangling
echo conf > %{buildroot}/etc/hello.conf
%post
true
%files
%dir /usr/share/hello
/usr/share/hello/a
/usr/share/hello/empty
"/usr/share/hello/with space"
/usr/share/hello/link
/usr/share/hello/dangling
%dir /usr/share/hello/sub
%config(noreplace) /etc/hello.conf
%ghost /var/log/hello.log
`;

const nativeSpec = `
Name: tool
Version: 0.5~rc1^git2
Release: 1
Summary: A native package with an ELF file
License: GPL-3.0-only
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none
%description
Fixture.
%install
mkdir -p %{buildroot}/usr/bin
cp /usr/bin/true %{buildroot}/usr/bin/tool
%files
%attr(0755,root,root) /usr/bin/tool
`;

const payloadSpec = (name: string, extra: string) => `
Name: ${name}
Version: 1
Release: 1
Summary: Payload fixture
License: Public Domain
BuildArch: noarch
%description
Fixture.
%install
mkdir -p %{buildroot}/usr/share/${name}
seq 1 2000 > %{buildroot}/usr/share/${name}/numbers
${extra}
%files
/usr/share/${name}
`;

const nosrcSpec = `
Name: private
Version: 2.0
Release: 1
Summary: A package whose source is not shipped
License: Proprietary
Source0: private-2.0.tar.gz
NoSource: 0
BuildArch: noarch
%description
Fixture.
%files
`;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): string {
  return execFileSync(cmd, args, {
    env: { ...process.env, LC_ALL: 'C', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

let cached: RpmFixtures | null = null;

/** Builds the fixtures (a few seconds) on first call; later calls reuse them. */
export function rpmFixtures(): RpmFixtures {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'isomock-rpmfixtures-'));
  try {
    cached = buildFixtures(dir);
  } catch (err) {
    spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: join(dir, 'gnupg') } });
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return cached;
}

function buildFixtures(dir: string): RpmFixtures {
  // A private HOME keeps the user's ~/.rpmmacros out, GNUPGHOME the keys.
  const env = { HOME: dir, GNUPGHOME: join(dir, 'gnupg') };
  mkdirSync(env.GNUPGHOME, { mode: 0o700 });
  const top = join(dir, 'top');
  const out = join(dir, 'rpms');
  mkdirSync(out);

  const build = (specName: string, spec: string, defines: string[] = [], args: string[] = ['-ba']) => {
    const specPath = join(dir, `${specName}.spec`);
    writeFileSync(specPath, spec);
    run('rpmbuild', [...args, '--define', `_topdir ${top}`, ...defines.flatMap((d) => ['--define', d]), specPath], env);
  };
  build('hello', richSpec, ['_binary_payload w9.gzdio']);
  build('tool', nativeSpec, ['_binary_payload w19.zstdio'], ['-ba', '--target', 'x86_64']);
  build('payload-xz', payloadSpec('payload-xz', ''), ['_binary_payload w2.xzdio']);
  build('payload-bzip2', payloadSpec('payload-bzip2', ''), ['_binary_payload w9.bzdio']);
  build('payload-zstd', payloadSpec('payload-zstd', ''), ['_binary_payload w3.zstdio']);
  build('payload-none', payloadSpec('payload-none', ''), ['_binary_payload w0.ufdio']);
  build('big', payloadSpec('big', 'head -c 1048576 /dev/urandom > %{buildroot}/usr/share/big/random'), [
    '_binary_payload w1.gzdio',
  ]);
  // rpmbuild wants even a NoSource file present; it leaves it out of the package.
  mkdirSync(join(top, 'SOURCES'), { recursive: true });
  writeFileSync(join(top, 'SOURCES', 'private-2.0.tar.gz'), 'not shipped');
  build('private', nosrcSpec, [], ['-bs']);

  const all: RpmFixture[] = [];
  for (const sub of ['RPMS/noarch', 'RPMS/x86_64', 'SRPMS']) {
    for (const file of readdirSync(join(top, sub)).sort()) {
      copyFileSync(join(top, sub, file), join(out, file));
      all.push({ label: file, path: join(out, file) });
    }
  }
  const find = (prefix: string) => all.find((f) => f.label.startsWith(prefix))!;

  const keyId = (uid: string, algo: string): string => {
    run(
      'gpg',
      ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', uid, algo, 'sign', 'never'],
      env,
    );
    const listing = run('gpg', ['--batch', '--with-colons', '--list-keys', uid], env);
    return listing
      .split('\n')
      .find((l) => l.startsWith('pub:'))!
      .split(':')[4]!
      .toLowerCase();
  };
  const sign = (source: RpmFixture, label: string, uid: string, key: string, extra: string[]): RpmFixture => {
    const path = join(out, label);
    copyFileSync(source.path, path);
    const defines = ['__gpg /usr/bin/gpg', `_gpg_name ${uid}`, '_gpg_digest_algo sha256'];
    run('rpmsign', [...defines.flatMap((d) => ['--define', d]), '--addsign', ...extra, path], env);
    const fixture = { label, path, keyId: key };
    all.push(fixture);
    return fixture;
  };
  const rsa = keyId('Isomock RSA <rsa@isomock.invalid>', 'rsa2048');
  const dsa = keyId('Isomock DSA <dsa@isomock.invalid>', 'dsa2048');
  const eddsa = keyId('Isomock EdDSA <eddsa@isomock.invalid>', 'ed25519');
  const hello = find('hello-1.0-3.fc40.noarch');
  sign(hello, 'signed-rsa-header.rpm', 'Isomock RSA', rsa, []);
  const v3Signed = sign(hello, 'signed-rsa-v3.rpm', 'Isomock RSA', rsa, ['--rpmv3']);
  sign(find('tool-'), 'signed-dsa-v3.rpm', 'Isomock DSA', dsa, ['--rpmv3']);
  sign(find('payload-zstd'), 'signed-eddsa.rpm', 'Isomock EdDSA', eddsa, []);
  sign(find('hello-1.0-3.fc40.src'), 'signed-rsa-v3.src.rpm', 'Isomock RSA', rsa, ['--rpmv3']);

  return { dir, all, big: find('big-'), v3Signed };
}

/** Stops the fixtures' gpg-agent and removes their directory (call from the test file's `after`). */
export function removeRpmFixtures(): void {
  if (!cached) return;
  run('gpgconf', ['--kill', 'gpg-agent'], { GNUPGHOME: join(cached.dir, 'gnupg') });
  rmSync(cached.dir, { recursive: true, force: true });
  cached = null;
}
