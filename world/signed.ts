/**
 * The signed world: the world's repositories with every RPM signed by one
 * world signing key (a v4 OpenPGP signature on the header, as Fedora signs),
 * each `repomd.xml` signed beside it (`repomd.xml.asc`) and, given the dnf5
 * image layer, the v6-format packages (gen/v6.ts) signed by that image's own
 * rpm 6 `rpmsign` under `v6/`. Built once per world (and layer) beside the
 * world in the cache, under a lock, in a temporary directory renamed into
 * place; the key is made once per world and kept beside it (`<world>.signing-key`,
 * a GNUPGHOME only root reads).
 * The world itself, its key and its gpgcheck=0 configs stay as they are.
 *
 * `makeSigningKey` also serves the tests' intruder: a key nobody trusts.
 */
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { createHash } from 'node:crypto';
import { exec } from './gen/exec.js';
import { acquireLock } from './gen/lock.js';
import { createRepo, compsXml } from './gen/repo.js';
import { v6Repo } from './gen/v6.js';
import type { WorldInfo } from './manifest.js';

export const signedKeyFile = 'RPM-GPG-KEY-isomock-signed-world';
const fingerprintFile = 'fingerprint';

export interface SigningKey {
  /** GNUPGHOME holding the secret key. */
  home: string;
  fingerprint: string;
  /** rpmsign --resign with this key: every file ends up with exactly this key's header signature. */
  signRpms(files: string[]): Promise<void>;
  /** `gpg --detach-sign --armor` beside the file (FILE.asc), as dnf's repo_gpgcheck reads it. */
  signDetached(file: string): Promise<void>;
  /** The ASCII-armoured public key. */
  publicKey(): Promise<string>;
  /** Stops the gpg-agent this key started. */
  stopAgent(): Promise<void>;
}

/** Opens the key in home, generating it first when home holds none. */
export async function makeSigningKey(home: string, uid: string): Promise<SigningKey> {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: home };
  const gpg = (args: string[]): Promise<string> => exec(['gpg', '--batch', '--quiet', ...args], { env });
  const fingerprintOf = async (): Promise<string | undefined> =>
    /^fpr:+([0-9A-F]{40}):/m.exec(await gpg(['--with-colons', '--list-secret-keys']))?.[1];
  let fingerprint = await fingerprintOf();
  if (!fingerprint) {
    await gpg(['--passphrase', '', '--pinentry-mode', 'loopback', '--quick-gen-key', uid, 'rsa3072', 'sign', '0']);
    fingerprint = await fingerprintOf();
  }
  if (!fingerprint) throw new Error(`world: gpg made no key in ${home}`);
  const fpr = fingerprint;
  return {
    home,
    fingerprint: fpr,
    async signRpms(files) {
      if (files.length === 0) return;
      const defines = ['_gpg_name', fpr, '__gpg', '/usr/bin/gpg', '_gpg_path', home];
      const args = defines.flatMap((v, i) => (i % 2 === 0 ? ['--define', `${v} ${defines[i + 1]}`] : []));
      await exec(['rpmsign', '--resign', ...args, ...files], { env });
    },
    async signDetached(file) {
      await gpg(['--yes', '--local-user', fpr, '--armor', '--detach-sign', '--output', `${file}.asc`, file]);
    },
    publicKey: () => gpg(['--armor', '--export', fpr]),
    async stopAgent() {
      await exec(['gpgconf', '--kill', 'all'], { env }).catch(() => undefined);
    },
  };
}

export interface SignedWorld {
  /** Served as the world is: base/, updates/ (and v6/ when made with the dnf5 layer). */
  dir: string;
  /** The public key, ASCII-armoured (signedKeyFile in dir). */
  keyFile: string;
  fingerprint: string;
  /** The v6 repository's directory name under dir, when there is one. */
  v6?: string;
}

/** The image's tree as gen/v6.ts unpacks it (beside the layer file). */
const layerTree = (layer: { file: string }): string => `${layer.file.replace(/\.tar\.gz$/, '')}.tree`;

/** rpm 6's rpmsign from the dnf5 image tree on the v6 packages in dir, with the key's home copied in. */
async function signInTree(key: SigningKey, tree: string, dir: string): Promise<void> {
  if (!existsSync(join(tree, 'usr/bin/rpmsign'))) throw new Error(`world: no rpmsign in the dnf5 image tree ${tree}`);
  cpSync(key.home, join(dir, '.gnupg'), { recursive: true, filter: (src) => !basename(src).startsWith('S.') });
  const files = readdirSync(dir).filter((f) => f.endsWith('.rpm'));
  const sandbox = ['--dev', '/dev', '--proc', '/proc', '--unshare-all', '--die-with-parent'];
  const env = ['--setenv', 'HOME', '/work', '--setenv', 'GNUPGHOME', '/work/.gnupg'];
  const define = ['--define', `_gpg_name ${key.fingerprint}`];
  await exec([
    'bwrap',
    '--ro-bind',
    tree,
    '/',
    '--bind',
    dir,
    '/work',
    ...sandbox,
    ...env,
    'rpmsign',
    '--addsign',
    ...define,
    ...files.map((f) => `/work/${f}`),
  ]);
  rmSync(join(dir, '.gnupg'), { recursive: true, force: true });
}

async function buildSigned(out: string, world: WorldInfo, layer?: { file: string; digest: string }): Promise<void> {
  const { manifest } = world;
  const key = await makeSigningKey(`${world.dir}.signing-key`, 'isomock signed world <signed@isomock.invalid>');
  try {
    for (const repo of manifest.repos) {
      mkdirSync(join(out, repo.dir, 'Packages'), { recursive: true });
      const files = manifest.packages.filter((p) => p.repo === repo.id).map((p) => p.file);
      for (const f of files) copyFileSync(join(world.dir, f), join(out, f));
      await key.signRpms(files.map((f) => join(out, f)));
      const members = [...new Set(manifest.packages.filter((p) => p.buildsys).map((p) => p.name))];
      await createRepo(join(out, repo.dir), repo.comps ? compsXml(manifest.buildsysGroup, members) : undefined);
      await key.signDetached(join(out, repo.dir, 'repodata', 'repomd.xml'));
    }
    if (layer) {
      const v6 = join(out, 'v6');
      mkdirSync(v6);
      const unsigned = await v6Repo(layer);
      for (const f of readdirSync(unsigned).filter((n) => n.endsWith('.rpm')))
        copyFileSync(join(unsigned, f), join(v6, f));
      await signInTree(key, layerTree(layer), v6);
      await createRepo(v6);
      await key.signDetached(join(v6, 'repodata', 'repomd.xml'));
    }
    writeFileSync(join(out, signedKeyFile), await key.publicKey());
    writeFileSync(join(out, fingerprintFile), `${key.fingerprint}\n`);
  } finally {
    await key.stopAgent();
  }
}

/** The signed world for this world (and dnf5 layer), built on first use. */
export async function ensureSignedWorld(
  world: WorldInfo,
  layer?: { file: string; digest: string },
): Promise<SignedWorld> {
  const tag = layer ? createHash('sha256').update(layer.digest).digest('hex').slice(0, 12) : 'v4';
  const dir = `${world.dir}.signed-${tag}`;
  const describe = (): SignedWorld | undefined => {
    if (!existsSync(join(dir, fingerprintFile))) return undefined;
    const fingerprint = readFileSync(join(dir, fingerprintFile), 'utf8').trim();
    return { dir, keyFile: join(dir, signedKeyFile), fingerprint, ...(layer && { v6: 'v6' }) };
  };
  const cached = describe();
  if (cached) return cached;
  // One lock for every variant: they share the key, made on first use.
  const lock = await acquireLock(`${world.dir}.signed.lock`);
  try {
    const meanwhile = describe();
    if (meanwhile) return meanwhile;
    const tmp = mkdtempSync(`${dir}.tmp-`);
    try {
      await buildSigned(tmp, world, layer);
      chmodSync(tmp, 0o755); // mkdtemp made it private
      renameSync(tmp, dir);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    return describe()!;
  } finally {
    await lock.release();
  }
}
