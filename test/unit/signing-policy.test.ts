/**
 * The pure decisions around signatures: who decides (signing/policy.ts: no
 * key is a loud warning, or an error with --require-signatures; a key file
 * that is missing or holds no key is one line, exit 5), and which of a
 * package manager's lines isomock quotes when it fails (buildroot/tool-errors.ts).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey } from 'openpgp';
import { trustedKeyring } from '../../src/signing/policy.js';
import { ToolErrors } from '../../src/buildroot/tool-errors.js';
import { IsomockError } from '../../src/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'isomock-signing-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test('no key: the warning says signatures are not checked; --require-signatures makes it exit 5', async () => {
  const said: string[] = [];
  assert.equal(await trustedKeyring({}, 'isolated-repo', (l) => said.push(l)), undefined);
  assert.deepEqual(said, ['isolated-repo: no trusted key given (--gpgkey FILE): RPM signatures are NOT checked']);
  await assert.rejects(
    trustedKeyring({ requireSignatures: true }, 'isolated-repo', () => assert.fail('no warning when it is an error')),
    (err: unknown) =>
      err instanceof IsomockError && err.exitCode === 5 && /--require-signatures needs/.test(err.message),
  );
});

test('key files: a missing one and one without a key are one line each, exit 5; a real key gives its fingerprint', async () => {
  const missing = join(scratch, 'absent.asc');
  await assert.rejects(
    trustedKeyring({ gpgkeys: [missing] }, 'x', () => undefined),
    (err: unknown) =>
      err instanceof IsomockError && err.exitCode === 5 && err.message === `gpg key file ${missing} does not exist`,
  );
  const junk = join(scratch, 'junk.asc');
  writeFileSync(junk, 'not a key\n');
  await assert.rejects(
    trustedKeyring({ gpgkeys: [junk] }, 'x', () => undefined),
    (err: unknown) => err instanceof IsomockError && err.exitCode === 5 && !err.message.includes('\n'),
  );
  const { publicKey } = await generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'unit' }],
    format: 'armored',
  });
  const good = join(scratch, 'good.asc');
  writeFileSync(good, publicKey);
  const ring = await trustedKeyring({ gpgkeys: [good] }, 'x', () => assert.fail('keys given: no warning'));
  assert.equal(ring?.fingerprints.length, 1);
  assert.match(ring!.fingerprints[0]!, /^[0-9A-F]{40,64}$/);
});

test("a failed package manager's own error lines are quoted, printable, the last three at most", () => {
  const said = new ToolErrors();
  for (const line of [
    'Downloading Packages:',
    'bash-5.2.15.rpm  1.2 MB/s',
    'Running transaction check',
    'warning: /var/cache/dnf/bash-5.2.15.rpm: Header V4 RSA/SHA512 Signature, key ID 074d1141: NOKEY',
    'Public key for bash-5.2.15.rpm is not installed. Failing package is: bash-0:5.2.15.x86_64',
    'Error: GPG check FAILED\x1b[0m',
  ])
    said.push(line);
  const quoted = said.quote();
  assert.equal(
    quoted,
    'warning: /var/cache/dnf/bash-5.2.15.rpm: Header V4 RSA/SHA512 Signature, key ID 074d1141: NOKEY / Public key for bash-5.2.15.rpm is not installed. Failing package is: bash-0:5.2.15.x86_64 / Error: GPG check FAILED',
  );
  assert.equal(new ToolErrors().quote(), '', 'nothing said, nothing quoted');
});
