/**
 * isomock as an npm package: `npm pack`, installed into an empty prefix, then
 * a short program that imports it by name runs the three isolated steps on
 * the demo world (host dnf) through the library API alone, the last one
 * behind the library's own network cut. This is dyn-br-synth's end-to-end
 * isolated flow (build.test runs the CLI's for the other samples).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveWorld, type ServedWorld } from './helpers/world.js';
import { repoRoot } from './helpers/paths.js';
import { isomockMounts } from './helpers/mounts.js';

let world: ServedWorld;
let scratch: string;

before(async () => {
  scratch = mkdtempSync('/tmp/isomock-package-test-');
  world = await serveWorld();
});
after(async () => {
  await world?.close();
  if (scratch && isomockMounts(scratch).length === 0) rmSync(scratch, { recursive: true, force: true });
});

/** The program a user would write: nothing but the package's public API. */
const program = `
import { calculate, isolatedBuild, loadBuildConfig, prefetch } from 'isomock';
const [configDir, scratch, srpm] = process.argv.slice(2);
const cmdline = (resultdir) => ({
  configOpts: ['basedir=' + scratch + '/lib', 'cache_topdir=' + scratch + '/cache'],
  resultdir: scratch + '/' + resultdir,
});
const { config } = loadBuildConfig({ root: 'world-1-x86_64', configDir, cmdline: cmdline('calc') });
const calc = await calculate({ config, srpm });
const repo = scratch + '/repo';
const fetched = await prefetch({ lockfile: calc.lockfile, outputRepo: repo });
const built = await isolatedBuild({
  lockfile: calc.lockfile,
  repo,
  srpms: [srpm],
  configOptions: { cmdline: cmdline('iso') },
});
console.log(JSON.stringify({ lockfile: calc.lockfile, rpms: fetched.rpms, results: built.results }));
`;

test('npm pack, installed in an empty prefix: a program importing isomock runs the three isolated steps', async () => {
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', scratch], {
    cwd: repoRoot,
    encoding: 'utf8',
  }).trim();
  const prefix = join(scratch, 'prefix');
  // Its runtime dependencies come from npm's cache when they are there (npm ci filled it).
  execFileSync(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      '--omit=dev',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(scratch, tarball),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  // The installed CLI starts, and the package carries its declarations.
  const version = execFileSync(join(prefix, 'node_modules', '.bin', 'isomock'), ['--version'], { encoding: 'utf8' });
  assert.match(version, /\d+\.\d+/);
  assert.ok(readdirSync(join(prefix, 'node_modules', 'isomock', 'dist', 'src')).includes('index.d.ts'));

  writeFileSync(join(prefix, 'three-steps.mjs'), program);
  const sample = world.world.manifest.srpms.find((s) => s.name === 'dyn-br-synth')!;
  // Asynchronously: the world's server answers from this process's event loop.
  const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [join(prefix, 'three-steps.mjs'), world.configDir, scratch, join(world.world.dir, sample.file)],
      { cwd: prefix, encoding: 'utf8' },
      (err, stdout, stderr) => resolve({ status: err ? ((err.code as number | undefined) ?? 1) : 0, stdout, stderr }),
    );
  });
  const rootLog = (step: string): string => {
    const log = join(scratch, step, 'root.log');
    return existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '';
  };
  assert.equal(run.status, 0, `${run.stderr}\n${rootLog('calc')}\n${rootLog('iso')}`);
  const out = run.stdout;
  const r = JSON.parse(out) as { lockfile: string; rpms: number; results: string[] };
  assert.ok(r.rpms > 10, `${r.rpms} locked RPMs in the offline repository`);
  assert.ok(
    r.results.some((f) => f.endsWith('.x86_64.rpm') || f.endsWith('.noarch.rpm')),
    `built offline: ${r.results.join(', ')}`,
  );
  assert.match(readFileSync(join(scratch, 'iso', 'root.log'), 'utf8'), /network cut verified/);
});
