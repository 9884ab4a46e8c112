/**
 * The trusted keys of a signature check: OpenPGP public keys read from files
 * the trusted side names (the command line's `--gpgkey FILE`, a config's
 * `gpgkey=file://...`), never from a lockfile, its record or a repository.
 * A missing, unreadable or keyless file is one clear error naming it. Links
 * are followed: the caller chose the path (distribution-gpg-keys is made of
 * links), and no build or co-user can write where such keys live.
 */
import { readFileSync } from 'node:fs';
import { readKeys, type Key } from 'openpgp';
import { ExitCode, IsomockError } from '../errors.js';

export interface Keyring {
  keys: Key[];
  /** Every primary key's fingerprint, upper-case hex, in the order given. */
  fingerprints: string[];
  /** Where the keys came from, for messages. */
  files: string[];
}

async function keysIn(file: string): Promise<Key[]> {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (err as Error).message})`;
    throw new IsomockError(`gpg key file ${file} ${why}`, ExitCode.badCmdline);
  }
  try {
    const text = data.toString('latin1');
    return text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')
      ? await readKeys({ armoredKeys: text })
      : await readKeys({ binaryKeys: new Uint8Array(data) });
  } catch (err) {
    throw new IsomockError(
      `gpg key file ${file} holds no OpenPGP public key: ${(err as Error).message}`,
      ExitCode.badCmdline,
    );
  }
}

/** Reads every file's keys; an empty list gives an empty keyring (nothing can be checked). */
export async function loadKeyring(files: string[]): Promise<Keyring> {
  const keys = (await Promise.all(files.map(keysIn))).flat();
  return { keys, fingerprints: keys.map((k) => k.getFingerprint().toUpperCase()), files };
}
