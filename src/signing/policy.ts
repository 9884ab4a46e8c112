/**
 * Who decides whether signatures are checked: only the trusted side (the
 * command line's keys and --require-signatures, or a config's gpgkey files).
 * No keys means nothing can be checked: a loud warning, or an error when
 * signatures are required. The lockfile, its record and the repository
 * never switch checking off and never supply a key.
 */
import { ExitCode, IsomockError } from '../errors.js';
import type { Keyring } from './keyring.js';

export interface SignaturePolicy {
  /** Trusted OpenPGP public key files. */
  gpgkeys?: string[];
  /** No key given is an error, not a warning. */
  requireSignatures?: boolean;
}

const uncheckedWarning = (step: string): string =>
  `${step}: no trusted key given (--gpgkey FILE): RPM signatures are NOT checked`;

/** The keyring to check against, or undefined (after the warning) when there is none. */
export async function trustedKeyring(
  policy: SignaturePolicy,
  step: string,
  warn: (line: string) => void,
): Promise<Keyring | undefined> {
  const files = policy.gpgkeys ?? [];
  if (files.length === 0) {
    if (policy.requireSignatures)
      throw new IsomockError(`${step}: --require-signatures needs a trusted key (--gpgkey FILE)`, ExitCode.badCmdline);
    warn(uncheckedWarning(step));
    return undefined;
  }
  // openpgp takes a tenth of a second to load: only a run that checks signatures pays for it.
  return (await import('./keyring.js')).loadKeyring(files);
}
