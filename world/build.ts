/**
 * ensureWorld(): the demo RPM distribution, built once per cache key and
 * reused. Parallel test processes serialise on a lock; the world is built in
 * a temporary directory and renamed into place, so a reader never sees half
 * a world.
 */
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, basename } from 'node:path';
import { basePackages } from './gen/base.js';
import { syntheticPackages } from './gen/synthetic.js';
import { samples, sampleSpec, netProbeMacro } from './gen/samples.js';
import { debianFileLists, debianVersions } from './gen/debian.js';
import { stagePackages, type DebianHost, type StagedPackage } from './gen/stage.js';
import { worldSpec } from './gen/spec.js';
import { createSigner } from './gen/sign.js';
import { compsXml, createRepo } from './gen/repo.js';
import { worldKey } from './gen/key.js';
import { acquireLock } from './gen/lock.js';
import { exec, inParallel } from './gen/exec.js';
import type { PackageDef } from './gen/model.js';
import type { WorldInfo, WorldManifest, WorldPackage, WorldRepo } from './manifest.js';
import { IsomockError } from '../src/errors.js';

const dist = '.w1';
const keyFile = 'RPM-GPG-KEY-isomock-world';
const buildsysGroup = 'buildsys-build';
const repos: WorldRepo[] = [
  { id: 'base', dir: 'base', name: 'World base', comps: true },
  { id: 'updates', dir: 'updates', name: 'World updates', comps: false },
];

export function cacheRoot(): string {
  return process.env.ISOMOCK_CACHE ?? '/var/cache/isomock';
}

function rpmbuildArgs(topdir: string): string[] {
  return [
    'rpmbuild',
    '--quiet',
    '--nodeps',
    '--define',
    `_topdir ${topdir}`,
    '--define',
    `dist ${dist}`,
    '--define',
    '_binary_payload w3.zstdio',
    '--define',
    '_source_payload w3.zstdio',
    '--define',
    '_buildhost world.isomock.test',
  ];
}

/**
 * Splits packages into specs: the wrapped base system in two halves (one
 * rpmbuild per core), the synthetic packages so that no spec holds two
 * packages of the same name.
 */
function specGroups(defs: PackageDef[]): Array<{ name: string; defs: PackageDef[] }> {
  const groups = [
    { name: 'world-base-1', defs: basePackages.filter((_, i) => i % 2 === 0) },
    { name: 'world-base-2', defs: basePackages.filter((_, i) => i % 2 === 1) },
  ];
  const synthetic = groups.length;
  for (const def of defs) {
    const fit = groups.slice(synthetic).find((g) => !g.defs.some((d) => d.name === def.name));
    if (fit) fit.defs.push(def);
    else groups.push({ name: `world-synth-${groups.length}`, defs: [def] });
  }
  return groups;
}

function rpmFileName(p: StagedPackage): string {
  return `${p.def.name}-${p.evr.version}-${p.evr.release}${dist}.${p.def.arch}.rpm`;
}

async function buildSpec(
  work: string,
  name: string,
  defs: PackageDef[],
  host: DebianHost,
  out: string,
): Promise<WorldPackage[]> {
  const stage = join(work, name, 'stage');
  const top = join(work, name, 'top');
  await mkdir(stage, { recursive: true });
  const staged = await stagePackages(defs, stage, host);
  const specPath = join(work, name, `${name}.spec`);
  await writeFile(specPath, worldSpec(name, staged, stage));
  await exec([...rpmbuildArgs(top), '-bb', specPath]);
  const built: WorldPackage[] = [];
  for (const p of staged) {
    const file = rpmFileName(p);
    const rel = join(p.def.repo, 'Packages', file);
    await rename(join(top, 'RPMS', p.def.arch, file), join(out, rel)).catch(() => {
      throw new IsomockError(`world: rpmbuild of ${name}.spec did not produce ${file}`);
    });
    built.push({
      name: p.def.name,
      epoch: p.evr.epoch ?? 0,
      version: p.evr.version,
      release: `${p.evr.release}${dist}`,
      arch: p.def.arch,
      repo: p.def.repo,
      file: rel,
      signature: p.def.signature,
      buildsys: p.def.buildsys ?? false,
    });
  }
  return built;
}

async function buildSamples(work: string, out: string): Promise<WorldManifest['srpms']> {
  const dir = join(work, 'samples');
  await mkdir(dir, { recursive: true });
  const specs = await Promise.all(
    samples.map(async (s) => {
      const path = join(dir, `${s.name}.spec`);
      await writeFile(path, sampleSpec(s));
      return path;
    }),
  );
  await exec([...rpmbuildArgs(join(dir, 'top')), '-bs', ...specs]);
  await mkdir(join(out, 'srpms'));
  return Promise.all(
    samples.map(async (s) => {
      const file = join('srpms', `${s.name}-1.0-1${dist}.src.rpm`);
      await rename(join(dir, 'top', 'SRPMS', basename(file)), join(out, file));
      const srpm = { name: s.name, file, expect: s.expect, binaries: s.binaries, dynamicRounds: s.dynamicRounds };
      return s.filelists ? { ...srpm, filelists: true } : srpm;
    }),
  );
}

async function generateWorld(out: string, key: string, host: DebianHost): Promise<WorldManifest> {
  const work = join(out, '.work');
  for (const repo of repos) await mkdir(join(out, repo.dir, 'Packages'), { recursive: true });
  const groups = specGroups(syntheticPackages);
  // The two base specs are by far the largest: they start first, one per core.
  let srpms: WorldManifest['srpms'] = [];
  const jobs = [
    ...groups.map((g) => () => buildSpec(work, g.name, g.defs, host, out)),
    async (): Promise<WorldPackage[]> => {
      srpms = await buildSamples(work, out);
      return [];
    },
  ];
  const packages = (await inParallel(2, jobs)).flat();

  const signer = await createSigner();
  try {
    const signed = (kind: WorldPackage['signature']): string[] =>
      packages.filter((p) => p.signature === kind).map((p) => join(out, p.file));
    await Promise.all([signer.sign(signed('header'), false), signer.sign(signed('header+payload'), true)]);
    for (const repo of repos) await signer.exportPublicKey(join(out, repo.dir, keyFile));
  } finally {
    await signer.close();
  }
  const groupMembers = [...new Set(packages.filter((p) => p.buildsys).map((p) => p.name))];
  await Promise.all(
    repos.map((r) => createRepo(join(out, r.dir), r.comps ? compsXml(buildsysGroup, groupMembers) : undefined)),
  );
  await rm(work, { recursive: true, force: true });
  return {
    schema: 1,
    key,
    arch: 'x86_64',
    releasever: '1',
    dist,
    dbpath: '/var/lib/rpm',
    buildsysGroup,
    netProbeMacro,
    gpgKey: { file: join('base', keyFile), fingerprint: signer.fingerprint },
    repos,
    packages,
    srpms,
  };
}

async function readWorld(dir: string): Promise<WorldInfo | undefined> {
  try {
    return { dir, manifest: JSON.parse(await readFile(join(dir, 'world.json'), 'utf8')) as WorldManifest };
  } catch {
    return undefined;
  }
}

/** Builds the world (or reuses the cached one) and describes it. */
export async function ensureWorld(): Promise<WorldInfo> {
  const allDefs = [...basePackages, ...syntheticPackages];
  const debs = [...new Set(allDefs.flatMap((d) => d.debian?.debs ?? []))];
  const versions = await debianVersions(debs);
  const key = await worldKey(versions);
  const worldsDir = join(cacheRoot(), 'world');
  const dir = join(worldsDir, key);
  const cached = await readWorld(dir);
  if (cached) return cached;

  await mkdir(worldsDir, { recursive: true });
  const lock = await acquireLock(join(worldsDir, `.${key}.lock`));
  try {
    const builtMeanwhile = await readWorld(dir);
    if (builtMeanwhile) return builtMeanwhile;
    const tmp = await mkdtemp(join(worldsDir, `.tmp-${key}-`));
    try {
      const manifest = await generateWorld(tmp, key, { versions, files: await debianFileLists(debs) });
      await writeFile(join(tmp, 'world.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      await chmod(tmp, 0o755); // mkdtemp made it private
      await rename(tmp, dir);
      return { dir, manifest };
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  } finally {
    await lock.release();
  }
}
