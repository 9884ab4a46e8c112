/**
 * safe-fs.ts on planted links, FIFOs and escapes: every refusal leaves the
 * sentinel outside the root exactly as it was, and a FIFO is never opened
 * (the test would hang). Needs no root (privateDir's chown check excepted).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateDir, SafeRoot } from '../../src/util/safe-fs.js';

let work: string;
let sentinel: string;
let counter = 0;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'isomock-safe-fs-'));
  sentinel = join(work, 'sentinel');
  mkdirSync(sentinel);
  writeFileSync(join(sentinel, 'secret'), 'host data\n');
  chmodSync(join(sentinel, 'secret'), 0o600);
});
after(() => rmSync(work, { recursive: true, force: true }));

/** A fresh root with a link to the sentinel directory and one to its file. */
function fresh(): { root: string; fs: SafeRoot } {
  const root = join(work, `root-${++counter}`);
  mkdirSync(join(root, 'real'), { recursive: true });
  symlinkSync(sentinel, join(root, 'dirlink'));
  symlinkSync(join(sentinel, 'secret'), join(root, 'filelink'));
  execFileSync('mkfifo', [join(root, 'fifo')]);
  return { root, fs: new SafeRoot(root) };
}

function assertSentinelUntouched(): void {
  assert.deepEqual(readdirSync(sentinel), ['secret']);
  assert.equal(readFileSync(join(sentinel, 'secret'), 'utf8'), 'host data\n');
  assert.equal(statSync(join(sentinel, 'secret')).mode & 0o7777, 0o600);
}

test('paths: .. and NUL refused, a leading / means the root, the (trusted) root path resolved once', () => {
  const { root, fs } = fresh();
  assert.throws(() => fs.mkdirs('real/../../x'), /refusing 'real\/\.\.\/\.\.\/x'.*'\.\.'/);
  assert.throws(() => fs.writeFile('a\0b', 'x'), /NUL/);
  assert.equal(fs.mkdirs('/real/sub'), join(root, 'real/sub'));
  assert.equal(new SafeRoot(join(root, 'dirlink')).root, sentinel);
  assert.throws(() => new SafeRoot(join(root, 'filelink')), /is not a directory/);
  assert.throws(() => new SafeRoot(join(root, 'absent')), /cannot use .*absent: ENOENT/);
  assertSentinelUntouched();
});

test('mkdirs, writeFile, copyIn: never through a linked parent', () => {
  const { fs } = fresh();
  assert.throws(() => fs.mkdirs('dirlink/new'), /'dirlink' is a symlink/);
  assert.throws(() => fs.writeFile('dirlink/secret', 'overwritten'), /'dirlink' is a symlink/);
  assert.throws(() => fs.copyIn(join(sentinel, 'secret'), 'dirlink/copy'), /'dirlink' is a symlink/);
  assert.throws(() => fs.mkdirs('filelink'), /is a symlink/);
  assertSentinelUntouched();
});

test('writeFile replaces a planted link (never writes through it), atomically, with owner and mode', () => {
  const { root, fs } = fresh();
  fs.writeFile('filelink', 'mine\n', { mode: 0o640, owner: [process.getuid!(), process.getgid!()] });
  assert.ok(lstatSync(join(root, 'filelink')).isFile());
  assert.equal(readFileSync(join(root, 'filelink'), 'utf8'), 'mine\n');
  assert.equal(statSync(join(root, 'filelink')).mode & 0o777, 0o640);
  fs.writeFile('deep/er/file', 'parents made\n');
  assert.equal(readFileSync(join(root, 'deep/er/file'), 'utf8'), 'parents made\n');
  assert.throws(() => fs.writeFile('real', 'x'), /is a directory/);
  // Over a link to a directory: the link is replaced, the temporary file made beside it, not in its target's parent.
  fs.writeFile('dirlink', 'replaces the link\n');
  assert.ok(lstatSync(join(root, 'dirlink')).isFile());
  assert.deepEqual(
    readdirSync(root).filter((f) => f.includes('isomock-tmp')),
    [],
  );
  assertSentinelUntouched();
});

test('readFile, chmod, chown, openAppend, lookup: a link, a FIFO or a device is refused, not opened', () => {
  const { fs } = fresh();
  for (const name of ['filelink', 'dirlink', 'fifo']) {
    assert.throws(() => fs.readFile(name), /refusing/, name);
    assert.throws(() => fs.chmod(name, 0o777), /refusing/, name);
    assert.throws(() => fs.chown(name, 0, 0), /refusing/, name);
    assert.throws(() => fs.openAppend(name), /refusing/, name);
    assert.throws(() => fs.lookup(name), /refusing/, name);
  }
  const dev = new SafeRoot('/dev');
  assert.throws(() => dev.readFile('null'), /is a device/);
  assert.equal(fs.readFile('absent'), undefined);
  assertSentinelUntouched();
});

test('copyFrom: the source is a regular file opened O_NOFOLLOW; a link at the destination is replaced', () => {
  const src = fresh();
  const dest = fresh();
  writeFileSync(join(src.root, 'real/result.rpm'), 'rpm bytes\n');
  assert.throws(() => dest.fs.copyFrom(src.fs, 'filelink', 'leak.rpm'), /'filelink' in .*is a symlink/);
  assert.throws(() => dest.fs.copyFrom(src.fs, 'fifo', 'fifo.rpm'), /is a FIFO/);
  assert.throws(() => dest.fs.copyFrom(src.fs, 'dirlink/secret', 'leak.rpm'), /'dirlink' is a symlink/);
  assert.ok(!existsSync(join(dest.root, 'leak.rpm')));
  const out = dest.fs.copyFrom(src.fs, 'real/result.rpm', 'filelink', { mode: 0o644 });
  assert.equal(readFileSync(out, 'utf8'), 'rpm bytes\n');
  assert.ok(lstatSync(out).isFile());
  assertSentinelUntouched();
});

test('list: regular files and directories only, never through a link; names lists all', () => {
  const { root, fs } = fresh();
  writeFileSync(join(root, 'real/a.rpm'), '');
  mkdirSync(join(root, 'real/x86_64'));
  writeFileSync(join(root, 'real/x86_64/b.rpm'), '');
  assert.deepEqual(fs.list('real', { recursive: true }), [
    { path: 'a.rpm', kind: 'file' },
    { path: 'x86_64', kind: 'dir' },
    { path: 'x86_64/b.rpm', kind: 'file' },
  ]);
  assert.throws(() => fs.list('dirlink'), /is a symlink/);
  symlinkSync(join(sentinel, 'secret'), join(root, 'real/x86_64/leak.rpm'));
  assert.throws(() => fs.list('real', { recursive: true }), /'real\/x86_64\/leak\.rpm' in .* is a symlink/);
  assert.deepEqual(fs.names(''), ['dirlink', 'fifo', 'filelink', 'real']);
  assertSentinelUntouched();
});

test('remove: links are unlinked, never followed; the root itself can be emptied', () => {
  const { root, fs } = fresh();
  mkdirSync(join(root, 'real/sub'));
  symlinkSync(sentinel, join(root, 'real/sub/inner-link'));
  writeFileSync(join(root, 'real/sub/file'), '');
  fs.remove('real');
  assert.ok(!existsSync(join(root, 'real')));
  fs.remove('dirlink');
  assert.ok(!existsSync(join(root, 'dirlink')));
  assert.throws(() => fs.remove('filelink/x'), /'filelink' is a symlink/);
  fs.remove('absent');
  fs.remove('absent/below/too');
  assert.equal(fs.lookup('absent/below'), undefined);
  fs.remove('');
  assert.deepEqual(readdirSync(root), []);
  assertSentinelUntouched();
});

test('privateDir: made 0700 and owned by the caller, a link in its place refused', () => {
  const dir = join(work, 'cache', 'private');
  privateDir(dir);
  assert.equal(statSync(dir).mode & 0o7777, 0o700);
  assert.equal(statSync(dir).uid, process.geteuid!());
  chmodSync(dir, 0o755);
  privateDir(dir);
  assert.equal(statSync(dir).mode & 0o7777, 0o700);
  symlinkSync(sentinel, join(work, 'cache', 'linked'));
  assert.throws(() => privateDir(join(work, 'cache', 'linked')));
  assert.equal(readlinkSync(join(work, 'cache', 'linked')), sentinel);
  assert.equal(statSync(sentinel).mode & 0o7777, 0o755);
});
