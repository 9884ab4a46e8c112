/**
 * The signed world (world/signed.ts) with configs shaped like Fedora's
 * (gpgcheck=1, repo_gpgcheck=1, gpgkey under /usr/share/distribution-gpg-keys):
 * calculate, isolated-repo --gpgkey and --isolated-build --gpgkey pass with
 * the host's dnf4, and each bad case fails at the first step that meets it,
 * naming the package or file: an unsigned RPM, one signed by an intruder's
 * key, one whose signature no longer matches its header, a repomd.xml whose
 * signature fails, a gpgkey file that does not exist. Without keys the
 * offline steps still work (Mock's own lockfiles carry none), loudly.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emptyStore, isomock } from './helpers/isomock.js';
import { isomockMounts } from './helpers/mounts.js';
import { holdDistributionKey, type HeldDistributionKey } from './helpers/distribution-keys.js';
import { ensureWorld, worldBuildOpts } from './helpers/world.js';
import {
  ensureSignedWorld,
  makeSigningKey,
  signedKeyFile,
  type SignedWorld,
  type SigningKey,
} from '../world/signed.js';
import { serveWorld, type ServedWorld } from '../world/serve.js';
import { compsXml, createRepo } from '../world/gen/repo.js';
import { exec } from '../world/gen/exec.js';
import type { WorldInfo } from '../world/manifest.js';

let scratch: string;
let world: WorldInfo;
let signed: SignedWorld;
let key: HeldDistributionKey;
let worldKey: SigningKey;
let intruder: SigningKey;
const served: ServedWorld[] = [];

before(async () => {
  scratch = mkdtempSync('/tmp/isomock-signed-test-');
  world = await ensureWorld();
  signed = await ensureSignedWorld(world);
  key = await holdDistributionKey(signed.keyFile, signedKeyFile);
  worldKey = await makeSigningKey(`${world.dir}.signing-key`, 'unused');
  intruder = await makeSigningKey(join(scratch, 'intruder-gpg'), 'intruder <intruder@isomock.invalid>');
});

after(async () => {
  for (const s of served) await s.close();
  await worldKey?.stopAgent();
  await intruder?.stopAgent();
  key?.release();
  if (scratch && isomockMounts(scratch).length === 0) rmSync(scratch, { recursive: true, force: true });
});

async function serve(dir: string): Promise<ServedWorld> {
  const s = await serveWorld(world, { signed: { dir, signing: { keyUrl: key.url } } });
  served.push(s);
  return s;
}

const srpm = (name: string): string => join(world.dir, world.manifest.srpms.find((s) => s.name === name)!.file);
const opts = (s: ServedWorld, out: string): string[] => worldBuildOpts(s, scratch, out, ['-q']);

/** The package the bad cases spoil: in the buildsys group, so every calculate installs it. */
const victim = (): string => world.manifest.packages.find((p) => p.name === 'bash')!.file;

type Spoil = 'unsigned' | 'intruder' | 'mismatch' | 'repomd';

/** Flips the last byte of the RSAHEADER signature: its header and digests stay intact, the signature no longer matches. */
function breakSignature(file: string): void {
  const b = readFileSync(file);
  const n = b.readUInt32BE(96 + 8);
  const data = 96 + 16 + 16 * n;
  for (let i = 0; i < n; i++) {
    const at = 96 + 16 + 16 * i;
    if (b.readUInt32BE(at) !== 268) continue;
    const end = data + b.readUInt32BE(at + 8) + b.readUInt32BE(at + 12) - 1;
    b[end] ^= 0x55;
    writeFileSync(file, b);
    return;
  }
  throw new Error(`${file} has no RSAHEADER`);
}

/** A copy of the signed world with one thing spoilt, its repodata remade and signed (by the intruder for 'repomd'). */
async function spoilt(kind: Spoil): Promise<string> {
  const dir = join(scratch, `world-${kind}`);
  cpSync(signed.dir, dir, { recursive: true });
  const file = join(dir, victim());
  if (kind === 'unsigned') await exec(['rpmsign', '--delsign', file]);
  if (kind === 'intruder') await intruder.signRpms([file]);
  if (kind === 'mismatch') breakSignature(file);
  const members = [...new Set(world.manifest.packages.filter((p) => p.buildsys).map((p) => p.name))];
  rmSync(join(dir, 'base', 'repodata'), { recursive: true });
  await createRepo(join(dir, 'base'), compsXml(world.manifest.buildsysGroup, members));
  await (kind === 'repomd' ? intruder : worldKey).signDetached(join(dir, 'base', 'repodata', 'repomd.xml'));
  return dir;
}

let good: ServedWorld;
const lockDir = (): string => join(scratch, 'calc');

test('signed world, gpgcheck=1: calculate, isolated-repo --gpgkey and --isolated-build --gpgkey pass; without keys, loudly', async () => {
  good = await serve(signed.dir);
  const dnfConf = readFileSync(join(good.configDir, 'world-1-x86_64.cfg'), 'utf8');
  assert.match(dnfConf, /gpgcheck=1\nrepo_gpgcheck=1/);
  assert.match(dnfConf, /gpgkey=file:\/\/\/usr\/share\/distribution-gpg-keys\/isomock-test\//);

  const calc = await isomock([...opts(good, 'calc'), '--calculate-build-dependencies', srpm('hello-synth')]);
  assert.equal(calc.code, 0, calc.stderr);
  assert.match(readFileSync(join(lockDir(), 'root.log'), 'utf8'), /Importing GPG key|imported/i);
  const lockfile = join(lockDir(), 'buildroot_lock.json');
  const lock = JSON.parse(readFileSync(lockfile, 'utf8')) as { buildroot: { rpms: { name: string }[] } };
  assert.ok(!lock.buildroot.rpms.some((r) => r.name === 'gpg-pubkey'), 'gpg-pubkey stays out of the lockfile');

  const repo = join(scratch, 'repo');
  const checked = await isomock(['isolated-repo', '--lockfile', lockfile, '--output-repo', repo, '--gpgkey', key.path]);
  assert.equal(checked.code, 0, checked.stderr);
  assert.match(checked.stderr, /signatures good by the trusted key/);
  assert.doesNotMatch(checked.stderr, /NOT checked/);

  const unchecked = await isomock(['isolated-repo', '--lockfile', lockfile, '--output-repo', repo]);
  assert.equal(unchecked.code, 0, unchecked.stderr);
  assert.match(unchecked.stderr, /^WARNING: isolated-repo: no trusted key given .*NOT checked$/m, 'loud');
  assert.match(unchecked.stderr, /signatures NOT checked$/m, 'and said again in the summary');
  const quiet = await isomock(['isolated-repo', '-q', '--lockfile', lockfile, '--output-repo', repo]);
  assert.deepEqual([quiet.code, quiet.stderr], [0, ''], '-q: errors only');
  const required = await isomock([
    'isolated-repo',
    '-q',
    '--lockfile',
    lockfile,
    '--output-repo',
    repo,
    '--require-signatures',
  ]);
  assert.equal(required.code, 5, required.stderr);
  assert.match(required.stderr, /--require-signatures needs a trusted key/);

  const build = await isomock([
    '--isolated-build',
    lockfile,
    repo,
    srpm('hello-synth'),
    '--gpgkey',
    key.path,
    ...opts(good, 'ib').slice(4),
  ]);
  assert.equal(build.code, 0, build.stderr);
  assert.ok(
    readdirSync(join(scratch, 'ib')).some((f) => f.startsWith('hello-synth-1.0-1') && f.endsWith('.x86_64.rpm')),
  );
  assert.match(
    readFileSync(join(scratch, 'ib', 'root.log'), 'utf8'),
    new RegExp(`signatures checked by rpm against the trusted key\\(s\\) ${signed.fingerprint}`),
  );

  const mockStyle = await isomock([
    '--isolated-build',
    lockfile,
    repo,
    srpm('hello-synth'),
    ...opts(good, 'ib2').slice(4),
  ]);
  assert.equal(mockStyle.code, 0, mockStyle.stderr);
  // With -q the console gets errors only; root.log always says it.
  assert.equal(mockStyle.stderr, '');
  assert.match(
    readFileSync(join(scratch, 'ib2', 'root.log'), 'utf8'),
    /WARNING: --isolated-build: no trusted key given/,
  );
  const requiredBuild = await isomock([
    '--isolated-build',
    lockfile,
    repo,
    srpm('hello-synth'),
    '--require-signatures',
    ...opts(good, 'ib3').slice(4),
  ]);
  assert.equal(requiredBuild.code, 5, requiredBuild.stderr);
});

test('--rebuild on the signed world with gpgcheck=1', async () => {
  const r = await isomock([...opts(good, 'rebuild'), '--rebuild', srpm('hello-synth')]);
  assert.equal(r.code, 0, r.stderr);
});

for (const kind of ['unsigned', 'intruder', 'mismatch'] as const) {
  test(`${kind} RPM: calculate fails quoting dnf, isolated-repo and --isolated-build fail naming the package`, async () => {
    const bad = await serve(await spoilt(kind));
    const name = victim().split('/').pop()!;
    const calc = await isomock([...opts(bad, `calc-${kind}`), '--calculate-build-dependencies', srpm('hello-synth')]);
    assert.equal(calc.code, 30, calc.stderr);
    const line = calc.stderr.trim().split('\n').pop()!;
    assert.match(line, /package manager failed .*(signature|GPG|not signed|NOKEY|key)/i, line);

    // A lockfile without isomock's record (as Mock writes it) pointing at the spoilt server: only the signature is wrong.
    const mockLock = join(scratch, `mock-lock-${kind}`);
    mkdirSync(mockLock);
    writeFileSync(
      join(mockLock, 'buildroot_lock.json'),
      readFileSync(join(lockDir(), 'buildroot_lock.json'), 'utf8').replaceAll(good.url, bad.url),
    );
    const repo = join(scratch, `repo-${kind}`);
    const fetch = await isomock(
      [
        'isolated-repo',
        '-q',
        '--lockfile',
        join(mockLock, 'buildroot_lock.json'),
        '--output-repo',
        repo,
        '--gpgkey',
        key.path,
      ],
      { env: emptyStore() },
    );
    assert.equal(fetch.code, 1, fetch.stderr);
    assert.ok(fetch.stderr.includes(name), fetch.stderr);
    assert.ok(!readdirSync(repo).includes(name), 'the bad RPM never enters the repository');
    assert.ok(!readdirSync(repo).includes('repodata'));

    // The good offline repository with the spoilt file put in: --isolated-build refuses it before any buildroot.
    const offline = join(scratch, `offline-${kind}`);
    cpSync(join(scratch, 'repo'), offline, { recursive: true });
    cpSync(join(scratch, `world-${kind}`, victim()), join(offline, name));
    const build = await isomock([
      '--isolated-build',
      join(mockLock, 'buildroot_lock.json'),
      offline,
      srpm('hello-synth'),
      '--gpgkey',
      key.path,
      ...opts(bad, `ib-${kind}`).slice(4),
    ]);
    assert.equal(build.code, 1, build.stderr);
    assert.ok(build.stderr.includes(join(offline, name)), build.stderr);
  });
}

test('a repomd.xml whose signature fails: calculate fails naming the repo', async () => {
  const bad = await serve(await spoilt('repomd'));
  const calc = await isomock([...opts(bad, 'calc-repomd'), '--calculate-build-dependencies', srpm('hello-synth')]);
  assert.notEqual(calc.code, 0);
  // dnf's own words, quoted in isomock's line (the result dir's path says "repomd" too, so it is cut off).
  const line = calc.stderr.trim().split('\n').pop()!;
  assert.match(line.replace(/; see \S+$/, ''), /package manager failed .*: .*(GPG|signature)/i, line);
});

test('a gpgkey file that does not exist is one clear error', async () => {
  const cfgDir = join(scratch, 'cfg-missing-key');
  cpSync(good.configDir, cfgDir, { recursive: true });
  const cfg = join(cfgDir, 'world-1-x86_64.cfg');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replaceAll(signedKeyFile, 'RPM-GPG-KEY-nobody'));
  const calc = await isomock([
    ...opts(good, 'calc-nokey').map((o) => (o === good.configDir ? cfgDir : o)),
    '--calculate-build-dependencies',
    srpm('hello-synth'),
  ]);
  assert.equal(calc.code, 3, calc.stderr);
  assert.match(
    calc.stderr.trim(),
    /^isomock: error: dnf\.conf repo world-base: gpgkey file:\/\/.*RPM-GPG-KEY-nobody does not exist$/m,
  );
  assert.equal(
    calc.stderr
      .trim()
      .split('\n')
      .filter((l) => l.includes('error')).length,
    1,
  );
});
