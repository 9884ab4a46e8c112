/**
 * The world's OpenPGP key, generated per world build, and rpmsign. GNUPGHOME
 * stays short (gpg-agent's socket path is limited) and the agent is stopped
 * afterwards so no daemon outlives the build.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { IsomockError } from '../../src/errors.js';
import { exec } from './exec.js';

export interface Signer {
  fingerprint: string;
  /** Signs the files in place; v3 adds the header+payload (rpmv3) signature too. */
  sign(files: string[], v3: boolean): Promise<void>;
  /** Writes the ASCII-armoured public key. */
  exportPublicKey(path: string): Promise<void>;
  close(): Promise<void>;
}

export async function createSigner(): Promise<Signer> {
  const home = await mkdtemp('/tmp/iso-gpg-');
  const env = { ...process.env, GNUPGHOME: home };
  const gpg = (args: string[]): Promise<string> => exec(['gpg', '--batch', '--quiet', ...args], { env });
  const close = async (): Promise<void> => {
    await exec(['gpgconf', '--kill', 'all'], { env }).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  };
  let fingerprint: string | undefined;
  try {
    await gpg([
      '--passphrase',
      '',
      '--pinentry-mode',
      'loopback',
      '--quick-gen-key',
      'isomock world <world@isomock.invalid>',
      'rsa2048',
      'sign',
      'never',
    ]);
    const listing = await gpg(['--with-colons', '--list-secret-keys']);
    fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing)?.[1];
    if (!fingerprint) throw new IsomockError('world: gpg generated no key');
  } catch (err) {
    await close();
    throw err;
  }
  return {
    fingerprint,
    async sign(files, v3) {
      if (files.length === 0) return;
      await exec(
        [
          'rpmsign',
          '--addsign',
          ...(v3 ? ['--rpmv3'] : []),
          '--define',
          `_gpg_name ${fingerprint}`,
          '--define',
          '__gpg /usr/bin/gpg',
          '--define',
          `_gpg_path ${home}`,
          ...files,
        ],
        { env },
      );
    },
    async exportPublicKey(path) {
      await writeFile(path, await gpg(['--armor', '--export', fingerprint]));
    },
    close,
  };
}
