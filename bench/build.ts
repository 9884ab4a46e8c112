/**
 * The build pipeline on the demo world, each command a separate process as a
 * packager runs it: per-stage times of --rebuild for every buildable sample
 * (host dnf, and a dnf bootstrap image), then the three isolated steps cold
 * (fresh basedir and caches: the bootstrap image is unpacked again) and warm,
 * with the dnf4 image (bookworm) and with the dnf5 + rpm 6 one (sid).
 * Each step stands beside its floor, an exact command run in the same bench on
 * the same files: one `rpm -i` transaction of the buildroot set into an empty
 * root (install), rpmbuild run directly (chroot, no namespaces) in the
 * finished root (build), `rm -rf` of the installed set (clean), and tar's
 * unpack of the bootstrap image's layer (bootstrap). Mock's root_cache is
 * measured on its own (a warm calculate and a rebuild without it and with a
 * valid cache, its unpack beside tar's); elsewhere it is off, so every root
 * is installed beside the install floor. A traced warm calculate
 * lists every process isomock starts, each with the reason it is on the
 * critical path. Mock's figures for a similar world are given for scale.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureWorld } from '../world/build.js';
import { serveWorld, type ServedWorld } from '../world/serve.js';
import { startRegistry } from '../world/registry.js';
import { pushDnf5Bootstrap, pushDnfBootstrap, type BuiltImage } from '../world/images.js';
import { freePort } from '../world/net/ports.js';
import { processStarts } from './process-starts.js';
import { timedSpawn, type Timed } from './timed-spawn.js';

const bin = fileURLToPath(new URL('../../bin/isomock', import.meta.url));

function isomock(args: string[]): Promise<Timed> {
  return timedSpawn([bin, ...args]);
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

function timeSync(fn: () => void): number {
  const start = performance.now();
  fn();
  return r2((performance.now() - start) / 1000);
}

/** Step name -> seconds, from a build's --json report. */
function stages(stdout: string): Record<string, number> {
  const report = JSON.parse(stdout) as { timings: { step: string; seconds: number }[] };
  return Object.fromEntries(
    report.timings.map((t) => [t.step.replace(/ for .*|\S+\.src\.rpm$/, '').trim(), r2(t.seconds)]),
  );
}

type Stages = Record<string, number>;

/** A world config with its own basedir and cache_topdir under dir. */
const worldRoot = (served: ServedWorld, config: string, dir: string): string[] => [
  '--configdir',
  served.configDir,
  '-r',
  config,
  '--config-opts',
  `basedir=${join(dir, 'lib')}`,
  '--config-opts',
  `cache_topdir=${join(dir, 'cache')}`,
];

async function rebuilds(
  served: ServedWorld,
  config: string,
  work: string,
): Promise<Record<string, { wall: number; stages: Stages }>> {
  const out: Record<string, { wall: number; stages: Stages }> = {};
  const base = [
    ...worldRoot(served, config, work),
    '--disable-plugin=root_cache',
    // The last buildroot stays for the rpmbuild floor (cleanup_on_success removes it otherwise).
    '-N',
    '-q',
    '--json',
  ];
  for (const sample of served.world.manifest.srpms.filter((s) => s.expect === 'builds')) {
    const srpm = join(served.world.dir, sample.file);
    await isomock([...base, '--resultdir', join(work, 'warmup'), srpm]); // fills the dnf cache and the bootstrap
    const r = await isomock([...base, '--resultdir', join(work, sample.name), srpm]);
    out[sample.name] = { wall: r2(r.seconds), stages: stages(r.stdout) };
  }
  return out;
}

interface Floors {
  /** rpm -i of the buildsys set into an empty root, host rpm, one transaction. */
  install: number;
  /** rm -rf of that installed root. */
  clean: number;
  /** rpmbuild -bb of the last sample's spec in its finished buildroot, chroot and nothing else. */
  rpmbuild: number;
  /** The sample whose spec the rpmbuild floor built. */
  rpmbuildSample: string;
}

/** The floors, each an exact command on the same files as the step it stands beside. */
function floors(served: ServedWorld, work: string, lastSample: string): Floors {
  const root = mkdtempSync(join(work, 'floor-root-'));
  const pkgs = served.world.manifest.packages.filter((p) => p.buildsys).map((p) => join(served.world.dir, p.file));
  const home = mkdtempSync(join(work, 'floor-home-'));
  writeFileSync(join(home, '.rpmmacros'), '%_dbpath /var/lib/rpm\n');
  const install = timeSync(() =>
    execFileSync('rpm', ['--root', root, '-i', '--nosignature', ...pkgs], {
      env: { ...process.env, HOME: home },
      stdio: 'ignore',
    }),
  );
  const clean = timeSync(() => execFileSync('rm', ['-rf', root]));
  // rpmbuild of the last sample in its finished buildroot, straight through chroot.
  const built = join(work, 'lib', 'world-1-x86_64', 'root');
  const spec = readdirSync(join(built, 'builddir/build/SPECS'))[0]!;
  const rpmbuild = timeSync(() =>
    execFileSync(
      'chroot',
      [
        '--userspec=1000:135',
        built,
        '/bin/bash',
        '-c',
        `cd /builddir && HOME=/builddir rpmbuild -bb --nodeps build/SPECS/${spec}`,
      ],
      { stdio: 'ignore' },
    ),
  );
  return { install, clean, rpmbuild, rpmbuildSample: lastSample };
}

/**
 * tar -xzf of the image's layers into an empty directory, in the state the
 * cold step unpacked in: right after the previous cache tree was removed
 * (ext4 is slow to create inodes for a while after many deletions).
 */
function unpackFloor(caches: string, image: BuiltImage): number {
  rmSync(join(caches, 'cache'), { recursive: true, force: true });
  const tree = mkdtempSync(join(caches, 'floor-unpack-'));
  const seconds = timeSync(() => {
    for (const layer of image.blobs.flatMap((b) => ('file' in b.data ? [b.data.file] : [])))
      execFileSync('tar', ['-xzf', layer, '-C', tree]);
  });
  rmSync(tree, { recursive: true, force: true });
  return seconds;
}

/**
 * Mock's root_cache on the host-dnf world: a warm --calculate-build-dependencies
 * and a --rebuild of one sample, each without the plugin and with a valid
 * cache (the run before made it, and filled the dnf cache either way); the
 * floor of the unpack is tar itself on the same tarball into an empty dir.
 */
async function rootCacheRuns(
  served: ServedWorld,
  work: string,
  sampleName: string,
): Promise<{ runs: Record<string, { wall: number; stages: Stages }>; unpackFloor: number }> {
  const config = served.configs[0]!;
  const srpm = join(served.world.dir, served.world.manifest.srpms.find((s) => s.name === sampleName)!.file);
  const runs: Record<string, { wall: number; stages: Stages }> = {};
  for (const mode of ['calculate-build-dependencies', 'rebuild']) {
    for (const on of [false, true]) {
      const dir = join(work, `${mode}-${on ? 'cached' : 'off'}`);
      const base = [...worldRoot(served, config, dir), '-q', ...(on ? [] : ['--disable-plugin=root_cache'])];
      await isomock([...base, '--resultdir', join(dir, 'warm-up'), `--${mode}`, srpm]);
      const r = await isomock([...base, '--json', '--resultdir', join(dir, 'result'), `--${mode}`, srpm]);
      runs[`${mode} (${on ? 'valid root cache' : 'no root cache'})`] = {
        wall: r2(r.seconds),
        stages: stages(r.stdout),
      };
    }
  }
  const tarball = join(work, 'rebuild-cached', 'cache', config, 'root_cache', 'cache.tar.gz');
  const tree = mkdtempSync(join(work, 'floor-root-cache-'));
  const unpackFloor = timeSync(() =>
    execFileSync('tar', ['--numeric-owner', '--use-compress-program=pigz', '-xf', tarball, '-C', tree]),
  );
  rmSync(tree, { recursive: true, force: true });
  return { runs, unpackFloor };
}

interface AgainstFloor {
  step: string;
  seconds: number;
  floor: string;
  floor_seconds: number;
  ratio: number;
}

const against = (step: string, seconds: number | undefined, floor: string, floorSeconds: number): AgainstFloor => ({
  step,
  seconds: seconds ?? NaN,
  floor,
  floor_seconds: floorSeconds,
  ratio: r2((seconds ?? NaN) / floorSeconds),
});

async function isolatedSteps(
  served: ServedWorld,
  config: string,
  work: string,
  srpmName: string,
  image: BuiltImage,
): Promise<{ wall: Record<string, number>; stages: Record<string, Stages>; unpackFloor: number }> {
  const srpm = join(served.world.dir, served.world.manifest.srpms.find((s) => s.name === srpmName)!.file);
  const result: Record<string, number> = {};
  const stagesOf: Record<string, Stages> = {};
  let floor = NaN;
  for (const round of ['cold', 'warm']) {
    const dir = join(work, `steps-${round}`);
    const caches = round === 'cold' ? join(work, 'steps-cache-cold') : join(work, 'steps-cache');
    const lib = [
      '--config-opts',
      `basedir=${join(caches, 'lib')}`,
      '--config-opts',
      `cache_topdir=${join(caches, 'cache')}`,
      '--disable-plugin=root_cache',
    ];
    if (round === 'cold') rmSync(caches, { recursive: true, force: true });
    else
      await isomock([
        '--configdir',
        served.configDir,
        '-r',
        config,
        ...lib,
        '-q',
        '--resultdir',
        join(work, 'warm-up'),
        '--calculate-build-dependencies',
        srpm,
      ]);
    const calc = await isomock([
      '--configdir',
      served.configDir,
      '-r',
      config,
      ...lib,
      '-q',
      '--json',
      '--resultdir',
      join(dir, 'calc'),
      '--calculate-build-dependencies',
      srpm,
    ]);
    const lockfile = join(dir, 'calc', 'buildroot_lock.json');
    const repo = await isomock(['isolated-repo', '-q', '--lockfile', lockfile, '--output-repo', join(dir, 'repo')]);
    if (round === 'cold') rmSync(join(caches, 'cache'), { recursive: true, force: true }); // the offline step unpacks again
    const iso = await isomock([
      '--isolated-build',
      lockfile,
      join(dir, 'repo'),
      ...lib,
      '-q',
      '--json',
      '--resultdir',
      join(dir, 'result'),
      srpm,
    ]);
    if (round === 'cold') floor = unpackFloor(caches, image);
    stagesOf[`calculate (${round})`] = stages(calc.stdout);
    stagesOf[`isolated-build (${round})`] = stages(iso.stdout);
    result[`calculate (${round})`] = r2(calc.seconds);
    result[`isolated-repo (${round === 'cold' ? 'cold' : 'second lockfile, warm store'})`] = r2(repo.seconds);
    result[`isolated-build (${round})`] = r2(iso.seconds);
  }
  return { wall: result, stages: stagesOf, unpackFloor: floor };
}

export async function run(): Promise<Record<string, unknown>> {
  const work = mkdtempSync('/var/tmp/isomock-bench-build-');
  const registry = await startRegistry(await freePort());
  const image = `${registry.host}/world/bootstrap:1`;
  const dnf4 = await pushDnfBootstrap(registry.host);
  const dnf5 = await pushDnf5Bootstrap(registry.host);
  const served = await serveWorld(await ensureWorld(), {
    bootstrapImage: image,
    dnf5: { image: `${registry.host}/world/bootstrap-dnf5:1` },
  });
  const dnf4Image = served.configs.find((c) => c.includes('-bootstrap-'))!;
  const dnf5Image = served.configs.find((c) => /-dnf5-[^-]+$/.test(c))!;
  const load = loadavg()[0]!;
  try {
    const host = await rebuilds(served, served.configs[0]!, join(work, 'host'));
    const lastSample = Object.keys(host).at(-1)!;
    const floor = floors(served, join(work, 'host'), lastSample);
    const boot = await rebuilds(served, dnf4Image, join(work, 'bootstrap'));
    const steps = await isolatedSteps(served, dnf4Image, join(work, 'steps'), 'dyn-br-synth', dnf4);
    const steps5 = await isolatedSteps(served, dnf5Image, join(work, 'steps-dnf5'), 'dyn-br-synth', dnf5);
    const rootCache = await rootCacheRuns(served, join(work, 'root-cache'), 'hello-synth');
    const starts = await processStarts(bin, [
      '--configdir',
      served.configDir,
      '-r',
      dnf4Image,
      '--config-opts',
      `basedir=${join(work, 'steps', 'steps-cache', 'lib')}`,
      '--config-opts',
      `cache_topdir=${join(work, 'steps', 'steps-cache', 'cache')}`,
      '-q',
      '--resultdir',
      join(work, 'traced'),
      '--calculate-build-dependencies',
      join(served.world.dir, served.world.manifest.srpms.find((s) => s.name === 'dyn-br-synth')!.file),
    ]);
    const rpmFloor = `rpm --root EMPTY -i --nosignature <the ${served.world.manifest.packages.filter((p) => p.buildsys).length} buildsys RPMs>`;
    const hostStages = host[lastSample]!.stages;
    const cold = steps.stages['isolated-build (cold)']!;
    const warm = steps.stages['isolated-build (warm)']!;
    return {
      benchmark: 'build',
      loadavg_before: r2(load),
      against_floors: [
        against(
          'installing minimal buildroot with dnf4 (rebuild, host dnf)',
          hostStages['installing minimal buildroot with dnf4'],
          rpmFloor,
          floor.install,
        ),
        against(
          'installing the locked buildroot (isolated-build, warm)',
          warm['installing the locked buildroot'],
          rpmFloor,
          floor.install,
        ),
        against(
          `rpmbuild (rebuild ${floor.rpmbuildSample}, host dnf)`,
          hostStages['rpmbuild'],
          `chroot --userspec=1000:135 ROOT rpmbuild -bb --nodeps <${floor.rpmbuildSample}'s spec>`,
          floor.rpmbuild,
        ),
        against(
          'installing minimal buildroot with dnf4 (calculate warm, dnf4 image)',
          steps.stages['calculate (warm)']!['installing minimal buildroot with dnf4'],
          rpmFloor,
          floor.install,
        ),
        against(
          'clean chroot (calculate warm, dnf4 image)',
          steps.stages['calculate (warm)']!['clean chroot'],
          'rm -rf <the installed buildsys root>',
          floor.clean,
        ),
        against(
          'unpacking root cache (rebuild hello-synth, host dnf)',
          rootCache.runs['rebuild (valid root cache)']!.stages['unpacking root cache'],
          'tar --numeric-owner --use-compress-program=pigz -xf <the same cache.tar.gz> -C EMPTY',
          rootCache.unpackFloor,
        ),
        against(
          'unpacking the bootstrap image (isolated-build, cold)',
          cold['unpacking the bootstrap image'],
          'tar -xzf <the dnf4 image layer> -C EMPTY (right after the cache tree is removed, as for the step)',
          steps.unpackFloor,
        ),
        against(
          'unpacking the bootstrap image (isolated-build, cold, dnf5 + rpm 6 image)',
          steps5.stages['isolated-build (cold)']!['unpacking the bootstrap image'],
          'tar -xzf <the dnf5 image layer> -C EMPTY (right after the cache tree is removed, as for the step)',
          steps5.unpackFloor,
        ),
      ],
      rebuild_host_dnf: host,
      rebuild_bootstrap_image: boot,
      floor: floor,
      isolated_steps_dyn_br_synth: steps,
      isolated_steps_dyn_br_synth_dnf5_rpm6_image: steps5,
      root_cache_hello_synth_host_dnf: rootCache.runs,
      process_starts_warm_calculate_dnf4_image: starts,
      mock_for_scale: {
        'calculate (cold)': '13-16 s',
        'calculate (warm)': '3-4 s',
        'hermetic-repo': '0.6-0.7 s',
        'hermetic-build': '9.4-9.9 s',
      },
    };
  } finally {
    await served.close();
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
