/**
 * The demo: Mock's three-step isolated build of a sample SRPM on the demo
 * world, run as a packager would run it.
 *   node dist/world/demo.js [--srpm NAME] [--no-bootstrap-image] [--workdir DIR]
 * Builds and serves the world (and a registry holding its dnf bootstrap
 * image on 127.0.0.1:80), runs --calculate-build-dependencies and
 * isolated-repo, stops every server, then runs --isolated-build offline.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureWorld } from './build.js';
import { pushDnfBootstrap } from './images.js';
import { startRegistry, type TestRegistry } from './registry.js';
import { serveWorld } from './serve.js';

const isomock = fileURLToPath(new URL('../../bin/isomock', import.meta.url));
const bootstrapRef = '127.0.0.1/world/bootstrap:1';

function step(title: string, args: string[]): Promise<number> {
  process.stderr.write(`\n=== ${title}\n$ isomock ${args.join(' ')}\n`);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(isomock, args, { stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code) => {
      process.stderr.write(`=== ${title}: exit ${code}, ${((performance.now() - started) / 1000).toFixed(2)} s\n`);
      if (code !== 0) reject(new Error(`${title} failed (exit ${code})`));
      else resolve(code);
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      srpm: { type: 'string', default: 'dyn-br-synth' },
      'no-bootstrap-image': { type: 'boolean', default: false },
      workdir: { type: 'string', default: '/var/tmp/isomock-demo' },
    },
  });
  const work = values.workdir!;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const world = await ensureWorld();
  const sample = world.manifest.srpms.find((s) => s.name === values.srpm);
  if (!sample)
    throw new Error(
      `no sample SRPM ${values.srpm}; the world has ${world.manifest.srpms.map((s) => s.name).join(', ')}`,
    );
  const srpm = join(world.dir, sample.file);

  let registry: TestRegistry | undefined;
  if (!values['no-bootstrap-image']) {
    process.stderr.write(
      `starting a registry on 127.0.0.1:80 with the dnf bootstrap image ${bootstrapRef} (built once with mmdebstrap)\n`,
    );
    registry = await startRegistry(80);
    await pushDnfBootstrap(registry.host);
  }
  const served = await serveWorld(world, {
    configDir: join(work, 'configs'),
    ...(registry ? { bootstrapImage: bootstrapRef } : {}),
  });
  const config = registry ? served.configs[served.configs.length - 1]! : served.configs[0]!;
  const lockfile = join(work, 'calculate', 'buildroot_lock.json');
  const common = ['--config-opts', `basedir=${join(work, 'lib')}`];
  try {
    await step('1. calculate the build dependencies (online)', [
      '--configdir',
      served.configDir,
      '-r',
      config,
      ...common,
      '--resultdir',
      join(work, 'calculate'),
      '--calculate-build-dependencies',
      srpm,
    ]);
    await step('2. download everything the lockfile names (online)', [
      'isolated-repo',
      '--lockfile',
      lockfile,
      '--output-repo',
      join(work, 'repo'),
    ]);
  } finally {
    await served.close();
    await registry?.stop();
    process.stderr.write('\nservers stopped: the next step has no repository, registry or network\n');
  }
  await step('3. the isolated build (offline)', [
    '--isolated-build',
    lockfile,
    join(work, 'repo'),
    ...common,
    '--resultdir',
    join(work, 'result'),
    srpm,
  ]);
  const rpms = readdirSync(join(work, 'result')).filter((f) => f.endsWith('.rpm'));
  process.stdout.write(
    `\nThe RPMs of the isolated build:\n${rpms.map((f) => `  ${join(work, 'result', f)}`).join('\n')}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${(err as Error).message}\n`);
  process.exit(1);
});
