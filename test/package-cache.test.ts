/**
 * isomock's record hashes each locked package from the package manager's
 * kept cache (dnf4's `cachedir`, dnf5's `system_cachedir`, bound or inside the
 * buildroot) and, when the cache has no such file, from its locked URL; a
 * symlink planted in the cache is never followed and a kept file that is not
 * the locked package is not trusted. Real world RPMs, served on loopback.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveWorld, type ServedWorld } from './helpers/world.js';
import { worldRpms, type WorldRpm } from './helpers/isolated-repo.js';
import { hashLockedRpm, packageCacheDir } from '../src/buildroot/package-cache.js';
import { parseDnfConf } from '../src/config/dnfconf.js';
import type { BuildConfig } from '../src/buildroot/build-config.js';

let served: ServedWorld;
let rpms: WorldRpm[];
const scratch = mkdtempSync('/tmp/isomock-package-cache-test-');
before(async () => {
  served = await serveWorld();
  rpms = await worldRpms(served);
});
after(async () => {
  await served.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** The few BuildConfig fields the module reads. */
function config(name: string, main: string): BuildConfig {
  return {
    cachedir: join(scratch, name, 'cache'),
    rootdir: join(scratch, name, 'root'),
    dnfConf: parseDnfConf(`[main]\n${main}\n`),
  } as BuildConfig;
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

test("the cache directory the config names, in dnf4's and dnf5's layouts", () => {
  const c = config('dirs', 'system_cachedir=/var/cache/dnf');
  assert.equal(packageCacheDir(c, 'dnf5'), join(c.cachedir, 'dnf_cache'));
  assert.equal(packageCacheDir(c, 'dnf4'), join(c.cachedir, 'dnf_cache'));
  const d = config('dirs2', '');
  assert.equal(packageCacheDir(d, 'dnf5'), join(d.rootdir, 'var/cache/libdnf5'));
  assert.equal(packageCacheDir(config('dirs3', 'cachedir=/srv/c/'), 'dnf4'), join(scratch, 'dirs3', 'root', 'srv/c'));
});

test('kept file hashed from the cache; none kept, a planted symlink or a foreign file: hashed from the URL', async () => {
  const c = config('hash', 'system_cachedir=/var/cache/dnf');
  const cacheDir = packageCacheDir(c, 'dnf5');
  const [kept, missing, linked, foreign] = rpms.filter((r) => r.locked.signature === null).slice(0, 4) as [
    WorldRpm,
    WorldRpm,
    WorldRpm,
    WorldRpm,
  ];
  const packages = join(cacheDir, 'world-base-0123456789abcdef', 'packages');
  mkdirSync(packages, { recursive: true });
  copyFileSync(kept.source, join(packages, kept.file));
  symlinkSync(linked.source, join(packages, linked.file));
  copyFileSync(kept.source, join(packages, foreign.file));
  for (const [r, from] of [
    [kept, 'cache'],
    [missing, 'url'],
    [linked, 'url'],
    [foreign, 'url'],
  ] as const) {
    const got = await hashLockedRpm(cacheDir, c, ['world-base'], r.locked);
    assert.deepEqual(got, { sha256: sha256(r.source), size: statSync(r.source).size, from }, r.file);
  }
  const gone = { ...missing.locked, url: `${served.url}nothing/${missing.file}` };
  await assert.rejects(hashLockedRpm(cacheDir, c, ['world-base'], gone), /cannot fetch .* to record it: HTTP 404/);
});
