/**
 * The build pipeline on the demo world, each command a separate process as a
 * packager runs it: per-stage times of --rebuild for every buildable sample
 * (host dnf, and a dnf bootstrap image), then the three isolated steps cold
 * (fresh basedir and caches: the bootstrap image is unpacked again) and warm,
 * with the dnf4 image (bookworm) and with the dnf5 + rpm 6 one (sid).
 * Floors: one `rpm -i` transaction of the same buildroot set with the host's
 * rpm, and rpmbuild run directly (chroot, no namespaces) in a finished root.
 * Mock's figures for a similar world on these machines are given for scale.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureWorld } from '../world/build.js';
import { serveWorld, type ServedWorld } from '../world/serve.js';
import { startRegistry } from '../world/registry.js';
import { pushDnf5Bootstrap, pushDnfBootstrap } from '../world/images.js';
import { timedSpawn, type Timed } from './timed-spawn.js';

const bin = fileURLToPath(new URL('../../bin/isomock', import.meta.url));
const registryPort = 5098;

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

async function rebuilds(served: ServedWorld, config: string, work: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const base = [
    '--configdir',
    served.configDir,
    '-r',
    config,
    '--config-opts',
    `basedir=${join(work, 'lib')}`,
    '--config-opts',
    `cache_topdir=${join(work, 'cache')}`,
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

/** The floors: the buildroot's packages in one host rpm transaction, and rpmbuild without isomock around it. */
function floors(served: ServedWorld, work: string): Record<string, number> {
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
  // rpmbuild of the static sample in a finished buildroot, straight through chroot.
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
  rmSync(root, { recursive: true, force: true });
  return {
    'rpm transaction of the buildsys set (host rpm)': install,
    [`rpmbuild -bb ${spec} (chroot, no namespaces)`]: rpmbuild,
  };
}

async function isolatedSteps(
  served: ServedWorld,
  config: string,
  work: string,
  srpmName: string,
): Promise<Record<string, number>> {
  const srpm = join(served.world.dir, served.world.manifest.srpms.find((s) => s.name === srpmName)!.file);
  const result: Record<string, number> = {};
  for (const round of ['cold', 'warm']) {
    const dir = join(work, `steps-${round}`);
    const caches = round === 'cold' ? join(work, 'steps-cache-cold') : join(work, 'steps-cache');
    const lib = [
      '--config-opts',
      `basedir=${join(caches, 'lib')}`,
      '--config-opts',
      `cache_topdir=${join(caches, 'cache')}`,
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
      '--resultdir',
      join(dir, 'result'),
      srpm,
    ]);
    result[`calculate (${round})`] = r2(calc.seconds);
    result[`isolated-repo (${round === 'cold' ? 'cold' : 'second lockfile, warm store'})`] = r2(repo.seconds);
    result[`isolated-build (${round})`] = r2(iso.seconds);
  }
  return result;
}

export async function run(): Promise<Record<string, unknown>> {
  const work = mkdtempSync('/var/tmp/isomock-bench-build-');
  const registry = await startRegistry(registryPort);
  const image = `${registry.host}/world/bootstrap:1`;
  await pushDnfBootstrap(registry.host);
  await pushDnf5Bootstrap(registry.host);
  const served = await serveWorld(await ensureWorld(), {
    bootstrapImage: image,
    dnf5: { image: `${registry.host}/world/bootstrap-dnf5:1` },
  });
  const dnf4Image = served.configs.find((c) => c.includes('-bootstrap-'))!;
  const dnf5Image = served.configs.find((c) => /-dnf5-[^-]+$/.test(c))!;
  const load = loadavg()[0]!;
  try {
    const host = await rebuilds(served, served.configs[0]!, join(work, 'host'));
    const floor = floors(served, join(work, 'host'));
    const boot = await rebuilds(served, dnf4Image, join(work, 'bootstrap'));
    const steps = await isolatedSteps(served, dnf4Image, join(work, 'steps'), 'dyn-br-synth');
    const steps5 = await isolatedSteps(served, dnf5Image, join(work, 'steps-dnf5'), 'dyn-br-synth');
    return {
      benchmark: 'build',
      loadavg_before: r2(load),
      rebuild_host_dnf: host,
      rebuild_bootstrap_image: boot,
      floor: floor,
      isolated_steps_dyn_br_synth: steps,
      isolated_steps_dyn_br_synth_dnf5_rpm6_image: steps5,
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
