/**
 * v6-format packages (rpm 6's default format: no SIGMD5, SHA-512 and SHA3-256
 * digests, payload sizes in the main header), built by the rpm 6 inside the
 * dnf5 bootstrap image, never by the host's rpm 4.18: newer releases of the
 * dynamic sample's build dependencies, so a dnf5 build with this repo
 * enabled locks and installs v6 packages. Unsigned. Built once per image
 * layer into the cache, under a lock; the repo directory is what a server
 * serves.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { acquireLock } from './lock.js';
import { exec, execStatus, type ExecResult } from './exec.js';
import { createRepo } from './repo.js';

/** The packages rebuilt as v6: release 2 of the dynamic sample's two build dependencies (world release is 1). */
const v6Packages = [
  { name: 'synth-dyn-dep', file: '/usr/share/synth-dyn-dep/next', content: 'synth-dyn-dep2' },
  { name: 'synth-dyn-dep2', file: '/usr/share/synth-dyn-dep2/version', content: '1.0' },
];
export const v6Release = '2.w1';

function spec(): string {
  const subs = v6Packages.map(
    (p) => `%package -n ${p.name}
Summary: ${p.name}, rebuilt as a v6 package
Version: 1.0
Release: ${v6Release}
BuildArch: noarch
%description -n ${p.name}
${p.name}, rebuilt as a v6 package.
%files -n ${p.name}
${p.file}
`,
  );
  return `%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none
Name: v6-world
Version: 1
Release: 1
Summary: The world's v6 packages
License: Various
%description
v6 packages.
%install
${v6Packages.map((p) => `mkdir -p %{buildroot}$(dirname ${p.file}) && echo ${p.content} > %{buildroot}${p.file}`).join('\n')}

${subs.join('\n')}`;
}

/** bwrap argv: the tree as / (its own rpm 6), dir at /work, no network; read-only for a check. */
function inTree(tree: string, dir: string, argv: string[], readOnly = false): string[] {
  const bind = readOnly ? '--ro-bind' : '--bind';
  const sandbox = [
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--unshare-all',
    '--die-with-parent',
    '--setenv',
    'HOME',
    '/work',
  ];
  return ['bwrap', bind, tree, '/', bind, dir, '/work', ...sandbox, ...argv];
}

/** The image's root tree, unpacked once beside its layer file. */
async function unpackedTree(layer: { file: string; digest: string }): Promise<string> {
  const tree = `${layer.file.replace(/\.tar\.gz$/, '')}.tree`;
  if (existsSync(join(tree, 'usr/bin/rpmbuild'))) return tree;
  const partial = `${tree}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  await exec(['tar', '-xzf', layer.file, '-C', partial, '--numeric-owner']);
  rmSync(tree, { recursive: true, force: true });
  renameSync(partial, tree);
  return tree;
}

/**
 * The v6 repository made with the given dnf5 image layer (see
 * images.ts dnf5BootstrapLayer): a directory with the RPMs and repodata.
 */
export async function v6Repo(layer: { file: string; digest: string }): Promise<string> {
  const base = `${layer.file.replace(/\.tar\.gz$/, '')}.v6repo`;
  const lock = await acquireLock(`${base}.lock`);
  try {
    if (existsSync(join(base, 'repodata', 'repomd.xml'))) return base;
    const tree = await unpackedTree(layer);
    const work = `${base}.work`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, 'v6.spec'), spec());
    await exec(inTree(tree, work, ['rpmbuild', '--define', '_topdir /work/top', '-bb', '/work/v6.spec']));
    const out = join(work, 'repo');
    mkdirSync(out);
    const rpmsDir = join(work, 'top', 'RPMS', 'noarch');
    for (const f of readdirSync(rpmsDir)) renameSync(join(rpmsDir, f), join(out, f));
    await createRepo(out);
    rmSync(base, { recursive: true, force: true });
    renameSync(out, base);
    rmSync(work, { recursive: true, force: true });
    return base;
  } finally {
    await lock.release();
  }
}

/** rpm 6's own verdict on a package file (`rpmkeys -Kv`, exit code and output), from the image tree: header-verify's oracle. */
export async function rpm6Check(layer: { file: string; digest: string }, file: string): Promise<ExecResult> {
  const tree = await unpackedTree(layer);
  return execStatus(inTree(tree, dirname(file), ['rpmkeys', '-Kv', `/work/${basename(file)}`], true));
}
