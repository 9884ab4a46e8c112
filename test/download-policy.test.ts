/**
 * The download policy at its own layer, with a fake clock: dnf's defaults
 * (timeout 30 s, minrate 1000 bytes/s) fail a stall before the headers, a
 * stall mid-body and a trickle within one timeout each, a deadline of three
 * timeouts bounds the retries under two minutes, a good rate is progress;
 * the size cap; link-local addresses in every spelling.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  RateWatch,
  bodyCap,
  defaultSizeCeiling,
  downloadLimits,
  type RateVerdict,
} from '../src/net/download-policy.js';
import { isLinkLocal } from '../src/net/address-policy.js';

/** Samples once a second for `seconds`, the body growing by bytesPerSecond(t); the first 'too-slow' second. */
function run(bytesPerSecond: (t: number) => number, seconds: number): { tooSlowAt?: number; verdicts: RateVerdict[] } {
  const watch = new RateWatch(downloadLimits(), 0);
  let bytes = 0;
  const verdicts: RateVerdict[] = [];
  for (let t = 1; t <= seconds; t++) {
    bytes += bytesPerSecond(t);
    const v = watch.sample(t * 1000, bytes);
    verdicts.push(v);
    if (v === 'too-slow') return { tooSlowAt: t, verdicts };
  }
  return { verdicts };
}

describe('the rate watch (dnf defaults)', () => {
  it('fails a stall before the headers after the 30 s timeout', () => {
    assert.equal(run(() => 0, 60).tooSlowAt, 30);
  });

  it('fails a trickle of a byte every 10 s after 30 s', () => {
    assert.equal(run((t) => (t % 10 === 0 ? 1 : 0), 60).tooSlowAt, 30);
  });

  it('fails a stall mid-body one timeout after the rate fell, and not before', () => {
    const r = run((t) => (t <= 20 ? 100_000 : 0), 120);
    assert.ok(r.tooSlowAt! > 50 && r.tooSlowAt! <= 56, `too slow at ${r.tooSlowAt}`);
  });

  it('takes a steady rate at minrate as progress for as long as it lasts', () => {
    const r = run(() => 1000, 600);
    assert.equal(r.tooSlowAt, undefined);
    assert.ok(r.verdicts.every((v) => v === 'progress'));
  });

  it('bounds the retries: three timeouts (90 s) of no progress, under two minutes', () => {
    assert.deepEqual(downloadLimits(), { timeoutMs: 30_000, minRate: 1000, deadlineMs: 90_000 });
    assert.ok(downloadLimits().deadlineMs < 120_000);
  });
});

describe('the cap', () => {
  it('caps at the recorded size, else at the 4 GiB ceiling', () => {
    assert.equal(bodyCap(1234, defaultSizeCeiling), 1234);
    assert.equal(bodyCap(null, defaultSizeCeiling), 4 * 1024 ** 3);
    assert.equal(bodyCap(undefined, 10), 10);
  });
});

describe('link-local addresses', () => {
  it('are 169.254.0.0/16 and fe80::/10 in every spelling', () => {
    for (const a of [
      '169.254.169.254',
      '169.254.0.1',
      '[fe80::1]',
      'fe80::1',
      'febf::1',
      '::ffff:169.254.1.2',
      '::ffff:a9fe:a9fe',
    ])
      assert.ok(isLinkLocal(a), a);
    for (const a of [
      '127.0.0.1',
      '169.253.1.1',
      '10.0.0.1',
      'fec0::1',
      '::1',
      'fe8::1',
      'example.test',
      '::ffff:127.0.0.1',
    ])
      assert.ok(!isLinkLocal(a), a);
  });

  it('include what the URL parser makes of other spellings', () => {
    for (const url of ['http://2852039166/', 'http://0xa9.0xfe.0xa9.0xfe/', 'http://[::ffff:169.254.169.254]/'])
      assert.ok(isLinkLocal(new URL(url).hostname), url);
  });
});
