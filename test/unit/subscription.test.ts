/**
 * Mock's RHEL subscription check (subscription_redhat_init): the key id comes
 * from the first *-key.pem of the entitlement directory; without the
 * directory or a key, exit 3 with Mock's message; a given key id or a config
 * that needs no subscription is left alone.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newDict } from '../../src/python/value.js';
import { applySubscription } from '../../src/config/subscription.js';
import { IsomockError } from '../../src/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'isomock-subscription-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const required = () => newDict([['redhat_subscription_required', true]]);

test('without the entitlement directory: exit 3, as Mock says it', () => {
  const dir = join(scratch, 'absent');
  assert.throws(
    () => applySubscription(required(), dir),
    (err: unknown) =>
      err instanceof IsomockError &&
      err.exitCode === 3 &&
      err.message === `${dir} is not a directory is subscription-manager installed?`,
  );
});

test('an entitlement directory without keys: exit 3', () => {
  const dir = join(scratch, 'empty');
  mkdirSync(dir);
  writeFileSync(join(dir, '123.pem'), '');
  assert.throws(
    () => applySubscription(required(), dir),
    (err: unknown) => err instanceof IsomockError && err.exitCode === 3 && /No key found/.test(err.message),
  );
});

test('the first key names the id; a given id or no subscription needs nothing', () => {
  const dir = join(scratch, 'keys');
  mkdirSync(dir);
  for (const f of ['7001-key.pem', '7001.pem', '5002-key.pem']) writeFileSync(join(dir, f), '');
  const config = required();
  applySubscription(config, dir);
  assert.equal(config['redhat_subscription_key_id'], '5002');
  const given = newDict([...Object.entries(required()), ['redhat_subscription_key_id', 'mine']]);
  applySubscription(given, join(scratch, 'absent'));
  assert.equal(given['redhat_subscription_key_id'], 'mine');
  const none = newDict([['redhat_subscription_required', false]]);
  applySubscription(none, join(scratch, 'absent'));
  assert.ok(!('redhat_subscription_key_id' in none));
});
