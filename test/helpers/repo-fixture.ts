/**
 * Small RPM repositories for the repository-metadata tests, made at test time
 * with the real rpmbuild and createrepo_c, and read back with the real dnf
 * (its Python API, so checksums and locations can be compared too).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const specs: Record<string, string> = {
  'alpha-1.2': spec('alpha', '1', '1.2', '3', 'Provides: alpha-cap = 2.0', [
    ['/usr/bin/alpha', 'alpha'],
    ['/usr/share/alpha/data.txt', 'data'],
  ]),
  'alpha-1.3': spec('alpha', '1', '1.3', '1', 'Provides: alpha-cap = 2.1', [['/usr/bin/alpha', 'alpha 1.3']]),
  beta: spec('beta', '0', '2.0~rc1', '1', 'Requires: alpha-cap >= 2\nProvides: beta(api) = 7', [
    ['/etc/beta.conf', 'conf'],
    ['/usr/lib/beta/plugin.so', 'x'],
  ]),
  gamma: spec('gamma++', '0', '3', '1.fc1', '', [['/usr/sbin/gamma++', 'g']]),
};

function spec(
  name: string,
  epoch: string,
  version: string,
  release: string,
  deps: string,
  files: [string, string][],
): string {
  return `Name: ${name}
${epoch === '0' ? '' : `Epoch: ${epoch}\n`}Version: ${version}
Release: ${release}
Summary: fixture <${name}> & co
License: MIT
BuildArch: noarch
${deps}
%description
A fixture package: <tags> & "quotes" naïve ünïcode – ${name}.
%install
${files.map(([path, text]) => `mkdir -p %{buildroot}$(dirname ${path}) && echo '${text}' > %{buildroot}${path}`).join('\n')}
%files
${files.map(([path]) => path).join('\n')}
%changelog
* Mon Jan 01 2024 Fixture Maker <fixture@example.invalid> - ${version}-${release}
- First & only <entry> for ${name}
`;
}

export const compsXml = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>buildsys-build</id>
    <name>Buildsystem building group</name>
    <name xml:lang="de">Gruppe zum Bauen</name>
    <description>Packages for building &amp; testing</description>
    <default>false</default>
    <uservisible>false</uservisible>
    <packagelist>
      <packagereq type="mandatory">alpha</packagereq>
      <packagereq type="default">beta</packagereq>
      <packagereq type="optional">gamma++</packagereq>
      <packagereq type="conditional" requires="alpha">beta</packagereq>
    </packagelist>
  </group>
  <group>
    <id>core</id>
    <name>Core</name>
    <description/>
    <packagelist>
      <packagereq>alpha</packagereq>
    </packagelist>
  </group>
</comps>
`;

/** Builds the fixture RPMs under `root`; returns the directory holding them. */
export function buildFixtureRpms(root: string): string {
  const top = join(root, 'rpmbuild');
  const out = join(root, 'rpms');
  mkdirSync(out, { recursive: true });
  for (const [file, text] of Object.entries(specs)) {
    const path = join(root, `${file}.spec`);
    writeFileSync(path, text);
    execFileSync('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${top}`, path], { stdio: 'pipe' });
  }
  for (const rpm of readdirSync(join(top, 'RPMS', 'noarch'))) cpSync(join(top, 'RPMS', 'noarch', rpm), join(out, rpm));
  return out;
}

export type Compression = 'gz' | 'xz' | 'bz2' | 'zstd';

/** A repository of the fixture RPMs at `dir`, its metadata compressed with `compression`. */
export function makeRepo(rpms: string, dir: string, compression: Compression, comps = true): string {
  cpSync(rpms, dir, { recursive: true });
  const args = ['--quiet', '--no-database'];
  if (comps) {
    writeFileSync(join(dir, '..', 'comps.xml'), compsXml);
    args.push('-g', join(dir, '..', 'comps.xml'));
  }
  // createrepo_c 0.17 has no zstd: those files are recompressed with the real zstd below.
  args.push(`--general-compress-type=${compression === 'zstd' ? 'gz' : compression}`, dir);
  execFileSync('createrepo_c', args, { stdio: 'pipe' });
  if (compression === 'zstd') recompressWithZstd(join(dir, 'repodata'));
  return dir;
}

/** Replaces each .gz metadata file by a zstd one and updates repomd.xml to match. */
function recompressWithZstd(repodata: string): void {
  const repomdPath = join(repodata, 'repomd.xml');
  const blocks = readFileSync(repomdPath, 'utf8').split(/(?=<data )/);
  const rewritten = blocks.map((block) => {
    const href = /<location href="repodata\/([^"]+\.gz)"/.exec(block)?.[1];
    if (!href) return block;
    const [oldSum] = href.split('-');
    const plain = gunzipSync(readFileSync(join(repodata, href)));
    const tmp = join(repodata, 'tmp.zst');
    execFileSync('zstd', ['-q', '-f', '-o', tmp], { input: plain });
    const newSum = createHash('sha256').update(readFileSync(tmp)).digest('hex');
    const newHref = href.replace(oldSum!, newSum).replace(/\.gz$/, '.zst');
    renameSync(tmp, join(repodata, newHref));
    rmSync(join(repodata, href));
    return block
      .replace(`<checksum type="sha256">${oldSum}`, `<checksum type="sha256">${newSum}`)
      .replace(href, newHref)
      .replace(/<size>\d+<\/size>/, `<size>${statSync(join(repodata, newHref)).size}</size>`)
      .replace('type="group_gz"', 'type="group_zst"');
  });
  writeFileSync(repomdPath, rewritten.join(''));
}

export interface OraclePackage {
  name: string;
  epoch: string;
  version: string;
  release: string;
  arch: string;
  location: string;
  base: string | null;
  size: number;
  installsize: number;
  sourcerpm: string;
  checksum: [string, string];
  provides: string[];
  files: string[];
}

export interface Oracle {
  packages: OraclePackage[];
  groups: { id: string; name: string; packages: [string, string][] }[];
}

// Debian's dnf lives in /usr/bin/python3's modules, whatever python3 is first in PATH.
const oracleScript = `
import dnf, hawkey, json, sys
base = dnf.Base()
base.conf.cachedir = sys.argv[2]
base.conf.reposdir = []
base.conf.substitutions['releasever'] = '1'
base.repos.add_new_repo('fixture', base.conf, baseurl=[sys.argv[1]])
base.fill_sack(load_system_repo=False)
base.read_comps()
types = {dnf.comps.MANDATORY: 'mandatory', dnf.comps.DEFAULT: 'default', dnf.comps.OPTIONAL: 'optional', dnf.comps.CONDITIONAL: 'conditional'}
packages = []
for p in base.sack.query():
    kind, value = p.chksum
    packages.append(dict(name=p.name, epoch=str(p.epoch), version=p.version, release=p.release, arch=p.arch,
        location=p.location, base=p.baseurl, size=p.downloadsize, installsize=p.installsize, sourcerpm=p.sourcerpm,
        checksum=[hawkey.chksum_name(kind), value.hex()], provides=[str(x) for x in p.provides], files=p.files))
groups = [dict(id=g.id, name=g.name, packages=sorted([x.name, types[x.option_type]] for x in g.packages_iter()))
          for g in base.comps.groups]
print(json.dumps(dict(packages=packages, groups=groups)))
`;

/** What dnf itself reads from the repository at `url`. */
export function dnfOracle(url: string, cacheDir: string): Oracle {
  const out = execFileSync('/usr/bin/python3', ['-c', oracleScript, url, cacheDir], {
    encoding: 'utf8',
    stdio: 'pipe',
  });
  return JSON.parse(out) as Oracle;
}
