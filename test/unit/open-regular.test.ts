/**
 * util/open-regular.ts: a file in an untrusted directory is read only when it
 * is itself a regular file. A symlink (even to a regular file), a directory
 * and a FIFO are refused at once, naming what they are; a FIFO never blocks.
 * Unit tier: no root, no servers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { openRegularFile, readFromStart } from '../../src/util/no-follow.js';
import { IsomockError } from '../../src/errors.js';

let dir: string;
before(() => {
  dir = mkdtempSync('/tmp/iso-open-regular-');
  writeFileSync(join(dir, 'file'), 'bytes');
  symlinkSync(join(dir, 'file'), join(dir, 'link'));
  mkdirSync(join(dir, 'dir'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('openRegularFile', () => {
  it('opens a regular file, which can be read from the start twice through one descriptor', async () => {
    const f = openRegularFile(join(dir, 'file'));
    try {
      assert.equal(f.size, 5);
      assert.equal(await text(readFromStart(f.fd, 2)), 'bytes');
      assert.equal(await text(readFromStart(f.fd)), 'bytes');
    } finally {
      closeSync(f.fd);
    }
  });
  for (const [name, reason] of [
    ['link', 'a symbolic link'],
    ['dir', 'a directory'],
    ['fifo', 'a FIFO'],
  ] as const) {
    it(`refuses ${reason}`, () => {
      assert.throws(
        () => openRegularFile(join(dir, name), `REPO/${name}`),
        (e: unknown) =>
          e instanceof IsomockError && e.message === `REPO/${name} is ${reason}, not a regular file: refused`,
      );
    });
  }
  it('says why it cannot open a missing file', () => {
    assert.throws(() => openRegularFile(join(dir, 'nope')), /cannot open .*nope: ENOENT/);
  });
});
