/**
 * util/as-user.ts, the helper children that read as another user: what the
 * kernel lets that user reach is all they return. Run as root the user is
 * nobody (65534); run as nobody (the unit tier), it is the process's own ids.
 * SafeRoot's owner: what is created is given away, what was there is not.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  closeSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IsomockError } from '../../src/errors.js';
import { copyFileAs, listAs, makeWritableDirAs, textReaderAs } from '../../src/util/as-user.js';
import { SafeRoot } from '../../src/util/safe-fs.js';

const root = process.getuid?.() === 0;
const user = root ? { uid: 65534, gid: 65534 } : { uid: process.getuid!(), gid: process.getgid!() };
let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'isomock-as-user-'));
  chmodSync(work, 0o755);
  mkdirSync(join(work, 'tree', 'sub'), { recursive: true });
  writeFileSync(join(work, 'tree', 'a.txt'), 'A\n', { mode: 0o640 });
  writeFileSync(join(work, 'tree', 'sub', 'b.txt'), 'B\n');
  symlinkSync('a.txt', join(work, 'tree', 'link'));
  // Root's 0600 file when root runs this; else the process's own, mode 0 (its owner may not read it either).
  writeFileSync(join(work, 'closed.txt'), 'SECRET\n');
  chmodSync(join(work, 'closed.txt'), root ? 0o600 : 0o000);
});
after(() => rmSync(work, { recursive: true, force: true }));

const refusal = (pattern: RegExp) => (err: unknown) =>
  err instanceof IsomockError && pattern.test(err.message) && err.message.split('\n').length === 1;

test('listAs: the tree as find sees it, links not followed unless asked, each with its mode', () => {
  const entries = listAs(user, join(work, 'tree'), Infinity);
  const byPath = new Map(entries.map((e) => [e.path, e]));
  assert.deepEqual([...byPath.keys()].sort(), ['', 'a.txt', 'link', 'sub', 'sub/b.txt']);
  assert.equal(byPath.get('')!.type, 'd');
  assert.equal(byPath.get('a.txt')!.mode, 0o640);
  assert.deepEqual([byPath.get('link')!.type, byPath.get('link')!.target], ['l', 'a.txt']);
  assert.equal(listAs(user, join(work, 'tree'), 1, true).find((e) => e.path === 'link')!.type, 'f');
  assert.deepEqual(
    listAs(user, join(work, 'tree'), 1)
      .map((e) => e.path)
      .sort(),
    ['', 'a.txt', 'link', 'sub'],
  );
});

test("a file the user may not read is refused in one line with the kernel's reason; a readable one comes whole", () => {
  const read = textReaderAs(user, 3);
  assert.equal(read(join(work, 'tree', 'sub', 'b.txt')), 'B\n');
  assert.throws(
    () => read(join(work, 'closed.txt')),
    refusal(/cannot read .*closed\.txt as uid \d+ .*Permission denied$/),
  );
  assert.throws(() => read(join(work, 'missing')), refusal(/No such file or directory$/));
  const out = join(work, 'copy');
  const fd = openSync(out, 'wx', 0o600);
  try {
    copyFileAs(user, join(work, 'tree', 'sub', 'b.txt'), fd);
  } finally {
    closeSync(fd);
  }
  assert.equal(readFileSync(out, 'utf8'), 'B\n');
  // 0640: its group, not others (nobody, when root runs this), may read it.
  if (root) assert.throws(() => read(join(work, 'tree', 'a.txt')), refusal(/Permission denied$/));
});

test('makeWritableDirAs: made as the user when it may, refused (one line, the exit code given) where it may not write', () => {
  const mine = join(work, 'mine');
  mkdirSync(mine, { mode: 0o777 });
  chmodSync(mine, 0o777);
  makeWritableDirAs(user, join(mine, 'a', 'b'), 70);
  assert.equal(lstatSync(join(mine, 'a', 'b')).uid, user.uid);
  const closed = join(work, 'closed-dir');
  mkdirSync(closed, { mode: 0o555 });
  chmodSync(closed, 0o555);
  if (!root) return; // the owner of 0555 may still not write, but root would: only meaningful for another user
  assert.throws(
    () => makeWritableDirAs(user, closed, 70),
    (err: unknown) => refusal(/not writable/)(err) && (err as IsomockError).exitCode === 70,
  );
  assert.throws(() => makeWritableDirAs(user, join(closed, 'x'), 70), refusal(/Permission denied$/));
});

test(
  'SafeRoot with an owner gives it what it creates (files, directories, new logs), never a file that was there',
  {
    skip: !root && 'chown needs root',
  },
  () => {
    const dir = join(work, 'results');
    mkdirSync(dir);
    writeFileSync(join(dir, 'old.log'), 'was here\n');
    const fs = new SafeRoot(dir, 70, 'the result directory', [user.uid, user.gid]);
    fs.writeFile('sub/new.txt', 'x');
    closeSync(fs.openAppend('new.log'));
    closeSync(fs.openAppend('old.log'));
    for (const f of ['sub', 'sub/new.txt', 'new.log']) assert.equal(lstatSync(join(dir, f)).uid, user.uid, f);
    assert.equal(lstatSync(join(dir, 'old.log')).uid, 0);
  },
);
