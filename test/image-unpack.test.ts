/**
 * Layer unpacking on crafted tars: GNU tar is the oracle for what one layer
 * makes on disk (replacements, links, owners, setuid); layer-on-layer rules
 * and every path escape, including those that only appear once a directory
 * known to be safe is replaced, are checked against explicit expectations.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { unpackImage, unpackLayers } from '../src/image/unpack.js';
import { BlobStore } from '../src/image/store.js';
import type { StoredImage } from '../src/image/pull.js';
import { craftedTar, type CraftedEntry } from '../world/images.js';
import { tree, treeDifferences } from './helpers/registry.js';

const work = join('/tmp/iso-unpack', `unpack-test-${process.pid}`);
const outside = join(work, 'outside');
let counter = 0;

before(() => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'file'), 'untouched\n');
});

after(() => rmSync(work, { recursive: true, force: true }));

/** Layer files (gzip, as registries serve them) for the given entry lists, and an empty target. */
function layers(...entryLists: CraftedEntry[][]): { target: string; files: { file: string; name: string }[] } {
  const n = ++counter;
  const target = join(work, `target-${n}`);
  mkdirSync(target);
  const files = entryLists.map((entries, i) => {
    const file = join(work, `layer-${n}-${i}.tar.gz`);
    writeFileSync(file, gzipSync(craftedTar(entries)));
    return { file, name: `crafted-${i}` };
  });
  return { target, files };
}

test('one layer: the same tree as GNU tar, devices skipped, directory times set last', async () => {
  const entries: CraftedEntry[] = [
    { path: 'a/', type: 'Directory', mode: 0o750, uid: 1000, gid: 1001 },
    { path: 'a/f', data: 'file in a\n', uid: 1000, gid: 1001 },
    { path: 'a/h', type: 'Link', linkpath: 'a/f' },
    { path: 'x', data: 'replaced by a symlink\n' },
    { path: 'x', type: 'SymbolicLink', linkpath: 'a/f', uid: 1000, gid: 1001 },
    { path: 'd/', type: 'Directory' },
    { path: 'd', data: 'a file where a directory was\n' },
    { path: 'l', type: 'SymbolicLink', linkpath: 'nowhere' },
    { path: 'l', type: 'Directory', mode: 0o700 },
    { path: 's', data: '#!/bin/sh\n', mode: 0o4755, uid: 1000, gid: 1001 },
    { path: 'abs', type: 'SymbolicLink', linkpath: '/etc/passwd' },
    { path: 'deep/er/file', data: 'parents made on the way\n', mode: 0o600 },
    { path: 'null', type: 'CharacterDevice', mode: 0o666 },
  ];
  const { target, files } = layers(entries);
  const stats = await unpackLayers(target, files);
  assert.deepEqual(stats, { entries: entries.length, skippedDevices: 1 });

  const oracle = join(work, 'gnu-tar');
  mkdirSync(oracle);
  execFileSync('tar', ['-xzf', files[0]!.file, '-C', oracle, '--numeric-owner', '--same-permissions']);
  rmSync(join(oracle, 'null'));
  const expected = tree(oracle);
  // GNU tar makes missing parents with its own default mode; an image never relies on either.
  for (const implicit of ['deep', 'deep/er']) expected.set(implicit, tree(target).get(implicit)!);
  assert.deepEqual(treeDifferences(tree(target), expected), []);
  assert.equal(statSync(join(target, 'a/h')).ino, statSync(join(target, 'a/f')).ino);
  assert.equal(statSync(join(target, 's')).mode & 0o7777, 0o4755);
  assert.equal(statSync(join(target, 'a')).mtimeMs, 0);
});

test('layers: whiteouts, an opaque marker after new files, a file replacing a lower symlink', async () => {
  const { target, files } = layers(
    [
      { path: 'gone', data: 'whited out\n' },
      { path: 'o/old', data: 'hidden\n' },
      { path: 'o/sub/x', data: 'hidden too\n' },
      { path: 'p', type: 'SymbolicLink', linkpath: join(outside, 'file') },
      { path: 'dir/inner', data: 'whited out with its directory\n' },
    ],
    [
      { path: '.wh.gone' },
      { path: 'o/new', data: 'kept\n' },
      { path: 'o/.wh..wh..opq' },
      { path: 'p', data: 'a file, not a write through the old symlink\n' },
      { path: '.wh.dir' },
      { path: 'dir/again', data: 'a fresh directory\n' },
    ],
  );
  await unpackLayers(target, files);
  assert.ok(!existsSync(join(target, 'gone')));
  assert.deepEqual(readdirSync(join(target, 'o')), ['new']);
  assert.ok(lstatSync(join(target, 'p')).isFile());
  assert.equal(readFileSync(join(outside, 'file'), 'utf8'), 'untouched\n');
  assert.deepEqual(readdirSync(join(target, 'dir')), ['again']);
});

test('aufs bookkeeping names (.wh..wh.*) other than the opaque marker remove nothing', async () => {
  const { target, files } = layers(
    [{ path: 'd/x', data: 'kept\n' }],
    [{ path: 'd/.wh..wh.plnk' }, { path: '.wh..wh.aufs' }],
  );
  await unpackLayers(target, files);
  assert.deepEqual(readdirSync(target), ['d']);
  assert.deepEqual(readdirSync(join(target, 'd')), ['x']);
});

test('escapes: each an error naming the layer and entry, nothing written outside', async (t) => {
  const cases: { name: string; layers: CraftedEntry[][]; error: RegExp }[] = [
    {
      name: 'dot-dot path',
      layers: [[{ path: 'a/../../evil', data: 'x' }]],
      error: /crafted-0: entry 'a\/\.\.\/\.\.\/evil' escapes the target directory/,
    },
    {
      name: 'absolute symlink as a parent',
      layers: [
        [
          { path: 'l', type: 'SymbolicLink', linkpath: outside },
          { path: 'l/evil', data: 'x' },
        ],
      ],
      error: /entry 'l\/evil' would be written through the symlink 'l'/,
    },
    {
      name: 'directory replaced by a symlink in the same layer',
      layers: [
        [
          { path: 'b/', type: 'Directory' },
          { path: 'b/ok', data: 'x' },
          { path: 'b', type: 'SymbolicLink', linkpath: outside },
          { path: 'b/evil', data: 'x' },
        ],
      ],
      error: /entry 'b\/evil' would be written through the symlink 'b'/,
    },
    {
      name: 'directory replaced by a symlink in a later layer',
      layers: [
        [{ path: 'c/x', data: 'x' }],
        [
          { path: 'c', type: 'SymbolicLink', linkpath: outside },
          { path: 'c/evil', data: 'x' },
        ],
      ],
      error: /crafted-1: entry 'c\/evil' would be written through the symlink 'c'/,
    },
    {
      name: 'directory whited out, then a symlink in its place',
      layers: [
        [{ path: 'w/x', data: 'x' }],
        [{ path: '.wh.w' }, { path: 'w', type: 'SymbolicLink', linkpath: outside }, { path: 'w/evil', data: 'x' }],
      ],
      error: /entry 'w\/evil' would be written through the symlink 'w'/,
    },
    {
      name: 'file as a parent',
      layers: [
        [
          { path: 'f', data: 'x' },
          { path: 'f/evil', data: 'x' },
        ],
      ],
      error: /entry 'f\/evil' has the non-directory 'f' as a parent/,
    },
    {
      name: 'hard link out of the tree',
      layers: [[{ path: 'h', type: 'Link', linkpath: '../../etc/passwd' }]],
      error: /entry '\.\.\/\.\.\/etc\/passwd' escapes the target/,
    },
    {
      name: 'hard link through a symlink',
      layers: [
        [
          { path: 'e', type: 'SymbolicLink', linkpath: outside },
          { path: 'h', type: 'Link', linkpath: 'e/file' },
        ],
      ],
      error: /entry 'e\/file' would be written through the symlink 'e'/,
    },
    {
      name: 'hard link to a directory',
      layers: [
        [
          { path: 'dir/', type: 'Directory' },
          { path: 'h', type: 'Link', linkpath: 'dir' },
        ],
      ],
      error: /entry 'h' is a hard link to 'dir', which is not a file in the tree/,
    },
    ...['', '.', '..'].map((hidden) => ({
      name: `whiteout of '${hidden}'`,
      layers: [[{ path: 'd/x', data: 'x' }], [{ path: `d/.wh.${hidden}` }]],
      error: new RegExp(`crafted-1: entry 'd/\\.wh\\.${hidden.replace(/\./g, '\\.')}' is a whiteout of no single name`),
    })),
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const { target, files } = layers(...c.layers);
      await assert.rejects(unpackLayers(target, files), c.error);
      assert.deepEqual(readdirSync(outside), ['file']);
      assert.ok(!existsSync(join(work, 'evil')));
    });
  }
});

test('damaged layers: missing blob, corrupt gzip, cut-off gzip, truncated tar', async () => {
  const { target, files } = layers([{ path: 'big', data: 'y'.repeat(100_000) }]);
  await assert.rejects(
    unpackLayers(target, [{ file: join(work, 'missing.tar.gz'), name: 'crafted-0' }]),
    /layer crafted-0: cannot unpack: ENOENT/,
  );
  const good = readFileSync(files[0]!.file);
  const corrupt = Buffer.from(good);
  corrupt[Math.floor(corrupt.length / 2)]! ^= 0xff;
  writeFileSync(files[0]!.file, corrupt);
  await assert.rejects(unpackLayers(target, files), /layer crafted-0: cannot unpack: .+/);
  writeFileSync(files[0]!.file, good.subarray(0, good.length - 10));
  await assert.rejects(unpackLayers(target, files), /layer crafted-0: cannot unpack: unexpected end of file/);
  writeFileSync(files[0]!.file, gzipSync(craftedTar([{ path: 'big', data: 'y'.repeat(100_000) }]).subarray(0, 20_000)));
  await assert.rejects(unpackLayers(target, files), /layer crafted-0: not a valid tar stream: .*Truncated input/);
});

test('batches: thousands of entries and a file larger than a batch, the same tree as GNU tar; a later escape still refused', async () => {
  // The worker posts a batch per 4 MiB of data or 2,000 steps: this layer spans several of each.
  const many: CraftedEntry[] = [{ path: 'm/', type: 'Directory', mode: 0o751 }];
  for (let i = 0; i < 3000; i++) many.push({ path: `m/f${i}`, data: `file ${i}\n`, mode: 0o600 + (i % 2) * 0o155 });
  many.push({ path: 'big', data: 'z'.repeat(9 << 20) + 'end\n', mode: 0o4755, uid: 1000, gid: 1001 });
  many.push({ path: 'm/last', type: 'Link', linkpath: 'm/f0' });
  const { target, files } = layers(many);
  assert.deepEqual(await unpackLayers(target, files), { entries: many.length, skippedDevices: 0 });
  const oracle = join(work, 'gnu-tar-batches');
  mkdirSync(oracle);
  execFileSync('tar', ['-xzf', files[0]!.file, '-C', oracle, '--numeric-owner', '--same-permissions']);
  assert.deepEqual(treeDifferences(tree(target), tree(oracle)), []);
  assert.equal(statSync(join(target, 'big')).mode & 0o7777, 0o4755);

  const escape = layers([
    ...many.slice(0, 2500),
    { path: 'm', type: 'SymbolicLink', linkpath: outside },
    { path: 'm/evil', data: 'x' },
  ]);
  await assert.rejects(
    unpackLayers(escape.target, escape.files),
    /crafted-0: entry 'm\/evil' would be written through the symlink 'm'/,
  );
  assert.deepEqual(readdirSync(outside), ['file']);
});

test('a stored layer is checked as it is unpacked: one that changed in the store fails the unpack and leaves the store', async () => {
  const bytes = gzipSync(craftedTar([{ path: 'etc/os-release', data: 'ID=world\n' }]));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const store = new BlobStore(join(work, 'store'));
  await store.write(digest, bytes.length, Readable.from([bytes]), 'test');
  // Only the manifest's layer list is read by the unpack.
  const image = { manifest: { layers: [{ digest, size: bytes.length }] } } as unknown as StoredImage;
  const good = join(work, 'stored-good');
  mkdirSync(good);
  await unpackImage(store, image, good);
  assert.equal(readFileSync(join(good, 'etc/os-release'), 'utf8'), 'ID=world\n');

  // The same size and still a valid layer, but not the bytes that entered under this digest.
  const other = gzipSync(craftedTar([{ path: 'etc/os-release', data: 'ID=wrong\n' }]));
  assert.equal(other.length, bytes.length);
  const entry = store.path(digest);
  chmodSync(entry, 0o644);
  writeFileSync(entry, other);
  chmodSync(entry, 0o444);
  const changed = join(work, 'stored-changed');
  mkdirSync(changed);
  await assert.rejects(
    unpackImage(store, image, changed),
    new RegExp(`layer ${digest}: the blob does not match its digest \\(got sha256:[0-9a-f]{64}\\)`),
  );
  assert.ok(!store.has(digest), 'the changed entry is dropped, so it is fetched again');
});
