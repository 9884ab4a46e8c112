/**
 * store/content-store.ts on its own: entries named by their SHA-256 and made
 * 0444, a use counts only when the bytes read hash to the name (else the
 * entry goes), the index is a hint, and garbage collection removes least
 * recently used entries down to the bound while sparing recent ones.
 * Unit tier: no root, no servers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { ContentStore } from '../../src/store/content-store.js';

let dir: string;
before(() => (dir = mkdtempSync('/tmp/iso-content-store-')));
after(() => rmSync(dir, { recursive: true, force: true }));

const hexOf = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('ContentStore', () => {
  it('keeps entries read-only under their SHA-256, and a use checks the bytes read', () => {
    const notices: string[] = [];
    const store = ContentStore.open(join(dir, 'a'), undefined, (m) => notices.push(m));
    const bytes = Buffer.from('an entry');
    const hex = store.commitBytes(bytes);
    assert.equal(hex, hexOf(bytes));
    assert.equal(statSync(store.entryPath(hex)).mode & 0o7777, 0o444);
    assert.equal(statSync(join(dir, 'a')).mode & 0o7777, 0o700);
    const entry = store.openEntry(hex)!;
    assert.equal(readFileSync(entry.fd, 'utf8'), 'an entry');
    assert.equal(entry.check(hex), true);
    entry.close();
    const again = store.openEntry(hex)!;
    assert.equal(again.check(hexOf(Buffer.from('other bytes'))), false, 'bytes that hash otherwise');
    again.close();
    assert.ok(!existsSync(store.entryPath(hex)), 'the changed entry is gone');
    assert.equal(notices.length, 1);
    assert.equal(store.openEntry(hex), undefined);
  });

  it('finds an entry by another key only through a well-formed index record', () => {
    const store = ContentStore.open(join(dir, 'b'));
    const hex = store.commitBytes(Buffer.from('indexed'));
    store.remember('rpm', 'abc123', hex);
    assert.equal(store.lookup('rpm', 'abc123'), hex);
    assert.equal(store.lookup('rpm', '../abc123'), undefined);
    assert.equal(store.lookup('rpm', 'absent'), undefined);
  });

  it('collects least recently used entries down to the bound, sparing recent ones', () => {
    const store = ContentStore.open(join(dir, 'c'));
    const hexes = [0, 1, 2, 3].map((i) => store.commitBytes(Buffer.alloc(1000, i)));
    const hour = 3_600_000;
    // Used 4, 3, 2 hours ago and just now.
    hexes.forEach((hex, i) => {
      const when = new Date(Date.now() - (i < 3 ? (4 - i) * hour : 0));
      utimesSync(join(dir, 'c', 'used', hex), when, when);
    });
    assert.equal(store.size(), 4000);
    assert.equal(store.collect(2500), 2000);
    assert.deepEqual(
      hexes.map((h) => existsSync(store.entryPath(h))),
      [false, false, true, true],
    );
    assert.equal(store.collect(0), 1000, 'the entry used just now stays whatever the bound');
    assert.ok(existsSync(store.entryPath(hexes[3]!)));
  });
});
