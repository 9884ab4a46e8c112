/**
 * root_cache's pure decisions: whether a cache tarball is used (Mock's age
 * and config-mtime rules, isomock's ownership checks), and which of
 * root_cache_opts reach tar (config/plugins.ts refuses the rest, exit 5).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rootCacheVerdict, type CacheEntry } from '../../src/buildroot/root-cache-validity.js';
import { pluginPlan } from '../../src/config/plugins.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { IsomockError } from '../../src/errors.js';
import { isDict, type PyDict, type PyValue } from '../../src/python/value.js';

const day = 24 * 60 * 60 * 1000;
const now = Date.UTC(2026, 11, 2);
const path = '/var/cache/mock/f/root_cache/cache.tar.gz';
const rules = { ageCheck: true, maxAgeDays: 15 };
const fresh: CacheEntry = { kind: 'file', uid: 0, mode: 0o100644, ctimeMs: now - day, mtimeMs: now - day };
const older = [{ path: '/etc/mock/f.cfg', mtimeMs: now - 30 * day }];

test('a root-owned cache younger than max_age_days and every config is used', () => {
  assert.deepEqual(rootCacheVerdict(rules, path, fresh, older, now, 0), { use: true });
  // Mock's age is in days, compared with >: exactly max_age_days old is still young.
  const edge = { ...fresh, ctimeMs: now - 15 * day };
  assert.deepEqual(rootCacheVerdict(rules, path, edge, older, now, 0), { use: true });
});

test('no cache: nothing to use, nothing said', () => {
  assert.deepEqual(rootCacheVerdict(rules, path, undefined, older, now, 0), { use: false, remove: false });
});

test("aged out by ctime, or older than a config by mtime: removed, with Mock's lines", () => {
  const aged = { ...fresh, ctimeMs: now - 15 * day - 1000 };
  assert.deepEqual(rootCacheVerdict(rules, path, aged, older, now, 0), {
    use: false,
    remove: true,
    line: 'root cache aged out! cache will be rebuilt',
  });
  const configs = [...older, { path: '/etc/mock/site-defaults.cfg', mtimeMs: fresh.mtimeMs + 1 }];
  assert.deepEqual(rootCacheVerdict(rules, path, fresh, configs, now, 0), {
    use: false,
    remove: true,
    line: '/etc/mock/site-defaults.cfg newer than root cache; cache will be rebuilt',
  });
  // A recent ctime does not save a cache older than the config (touch sets ctime, not mtime back).
  const touched = { ...fresh, ctimeMs: now, mtimeMs: now - 40 * day };
  assert.equal(rootCacheVerdict(rules, path, touched, older, now, 0).use, false);
});

test('age_check off: used whatever its age, as Mock logs it', () => {
  const ancient = { ...fresh, ctimeMs: now - 400 * day, mtimeMs: now - 400 * day };
  assert.deepEqual(rootCacheVerdict({ ...rules, ageCheck: false }, path, ancient, older, now, 0), {
    use: true,
    line: 'skipping root_cache aging check',
  });
});

test('a link, a non-file, a file of another user or writable by group or others: ignored with a warning, never removed', () => {
  const cases: [Partial<CacheEntry>, string][] = [
    [{ kind: 'symlink' }, 'a symbolic link'],
    [{ kind: 'other' }, 'not a regular file'],
    [{ uid: 1000 }, 'owned by uid 1000'],
    [{ mode: 0o100664 }, 'writable by others than its owner'],
    [{ mode: 0o100646 }, 'writable by others than its owner'],
  ];
  for (const [change, why] of cases) {
    // Even with age_check off: these checks are isomock's, not Mock's aging.
    for (const r of [rules, { ...rules, ageCheck: false }]) {
      assert.deepEqual(rootCacheVerdict(r, path, { ...fresh, ...change }, older, now, 0), {
        use: false,
        remove: false,
        warn: true,
        line: `root cache ${path} is ${why}: ignored, it is made again`,
      });
    }
  }
});

/** Mock's defaults with root_cache_opts changed, and a root. */
function withRootCache(changes: Record<string, PyValue>, top: Record<string, PyValue> = {}): PyDict {
  const config = defaultConfig(1000);
  config['root'] = 'fedora-rawhide-x86_64';
  Object.assign(config, top);
  const o = (config['plugin_conf'] as PyDict)['root_cache_opts'];
  assert.ok(isDict(o));
  Object.assign(o, changes);
  return config;
}

test('root_cache_opts as Mock reads them: the dir expanded, the extension only with a compressor', () => {
  const plan = pluginPlan(withRootCache({}))['rootCache'];
  assert.equal(plan?.dir, '/var/cache/mock/fedora-rawhide-x86_64/root_cache');
  assert.equal(plan?.fileName, 'cache.tar.gz');
  const zstd = pluginPlan(withRootCache({ compress_program: 'zstd', extension: '.zst', decompress_program: 'zstd' }));
  assert.equal(zstd.rootCache?.fileName, 'cache.tar.zst');
  assert.equal(zstd.rootCache?.decompress, 'zstd');
  const plain = pluginPlan(withRootCache({ compress_program: null }));
  assert.equal(plain.rootCache?.fileName, 'cache.tar');
  assert.equal(plain.rootCache?.compress, undefined);
  const alter = pluginPlan(withRootCache({ age_check: false }, { cache_alterations: true })).rootCache;
  assert.equal(alter?.ageCheck, false);
  assert.equal(alter?.cacheAlterations, true);
});

test('root_cache options that would reach tar unchecked are refused, exit 5, one line', () => {
  const refused: [Record<string, PyValue>, RegExp, Record<string, PyValue>?][] = [
    [{ compress_program: 'sh -c id' }, /compress_program'\] sh -c id is not one of pigz, gzip, zstd, xz, bzip2/],
    [{ decompress_program: '/tmp/evil' }, /decompress_program/],
    [{ dir: 'relative/dir' }, /dir'\] relative\/dir is not absolute/],
    [{ dir: '/var/cache/%(root)s' }, /holds a %/],
    [{ dir: '/var/cache/../etc' }, /not a normalized path/],
    [{ extension: '.gz; rm' }, /extension'\] .* is not a file-name suffix/],
    [{ exclude_dirs: ['./proc', '../etc'] }, /exclude_dirs'\] \.\.\/etc is not a plain path inside the root/],
    [{ max_age_days: 'soon' }, /max_age_days'\] soon is not a number/],
    [{}, /config_opts\['tar'\] bsdtar: root_cache runs GNU tar only/, { tar: 'bsdtar' }],
  ];
  for (const [changes, message, top] of refused) {
    assert.throws(
      () => pluginPlan(withRootCache(changes, top)),
      (err: unknown) =>
        err instanceof IsomockError && err.exitCode === 5 && message.test(err.message) && !err.message.includes('\n'),
      JSON.stringify(changes),
    );
  }
  // Off, its options are not read at all (as Mock, which loads no disabled plugin).
  const off = withRootCache({ compress_program: 'sh -c id' });
  (off['plugin_conf'] as PyDict)['root_cache_enable'] = false;
  assert.equal(pluginPlan(off).rootCache, undefined);
});
