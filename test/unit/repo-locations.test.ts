/**
 * The lockfile's URLs from the package manager's cached metadata
 * (buildroot/repo-locations.ts), on hand-made caches in dnf's layout: the
 * rules repoquery --location and Mock's reading of it follow (xml:base, first
 * base, sorted lines and the last per name.arch, enabled repos only, toggles),
 * and a cache that does not match its repomd.xml, or holds a link, is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseDnfConf } from '../../src/config/dnfconf.js';
import type { BuildConfig } from '../../src/buildroot/build-config.js';
import { cachedRepos, locateInMetadata, openCache } from '../../src/buildroot/repo-locations.js';
import { IsomockError } from '../../src/errors.js';

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

interface Pkg {
  name: string;
  href: string;
  base?: string;
}

function primaryXml(pkgs: Pkg[]): string {
  const one = (p: Pkg): string =>
    `<package type="rpm"><name>${p.name}</name><arch>noarch</arch><version epoch="0" ver="1" rel="1"/>` +
    `<checksum type="sha256" pkgid="YES">${sha256(p.name)}</checksum><size package="10" installed="10" archive="10"/>` +
    `<location${p.base ? ` xml:base="${p.base}"` : ''} href="${p.href}"/><format></format></package>`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${pkgs.length}">${pkgs.map(one).join('')}</metadata>\n`;
}

/** A repo's cache directory as dnf writes it: repodata/repomd.xml and the primary it names. */
function cacheRepo(cache: string, id: string, baseurl: string, pkgs: Pkg[], tamper = false): void {
  const dir = join(cache, `${id}-${sha256(baseurl).slice(0, 16)}`, 'repodata');
  mkdirSync(dir, { recursive: true });
  const open = primaryXml(pkgs);
  const gz = gzipSync(open);
  const name = `${sha256(gz)}-primary.xml.gz`;
  writeFileSync(join(dir, name), tamper ? gzipSync(open.replace('<name>', '<name>x')) : gz);
  writeFileSync(
    join(dir, 'repomd.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision>` +
      `<data type="primary"><checksum type="sha256">${sha256(gz)}</checksum><open-checksum type="sha256">${sha256(open)}</open-checksum>` +
      `<location href="repodata/${name}"/><size>${gz.length}</size><open-size>${Buffer.byteLength(open)}</open-size></data></repomd>\n`,
  );
}

function configOf(dnfConf: string, toggles: string[] = []): BuildConfig {
  return { dnfConf: parseDnfConf(dnfConf), enableDisableRepos: toggles } as unknown as BuildConfig;
}

const conf = `[main]
[a]
baseurl=http://127.0.0.1:1/a
[b]
baseurl=http://127.0.0.1:1/b/
[c]
enabled=0
baseurl=http://127.0.0.1:1/c/
`;
const installed = ['foo', 'bar', 'baz'].map((name) => ({ name, version: '1', release: '1', arch: 'noarch' }));

function withCache(fn: (cache: string) => Promise<void>): Promise<void> {
  const cache = mkdtempSync(join(tmpdir(), 'isomock-repo-locations-'));
  return fn(cache).finally(() => rmSync(cache, { recursive: true, force: true }));
}

test('xml:base, else the first base joined as os.path.join does; the last sorted line per name.arch; disabled repos left out', () =>
  withCache(async (cache) => {
    cacheRepo(cache, 'a', 'http://127.0.0.1:1/a', [
      { name: 'foo', href: 'Packages/foo-1-1.noarch.rpm' },
      { name: 'bar', href: '/Packages/bar-1-1.noarch.rpm', base: 'http://127.0.0.1:2/elsewhere' },
    ]);
    cacheRepo(cache, 'b', 'http://127.0.0.1:1/b/', [{ name: 'foo', href: 'Packages/f/foo-1-1.noarch.rpm' }]);
    cacheRepo(cache, 'c', 'http://127.0.0.1:1/c/', [{ name: 'baz', href: 'baz-1-1.noarch.rpm' }]);
    const located = await locateInMetadata(
      openCache(cache),
      await cachedRepos(configOf(conf), openCache(cache)),
      installed,
    );
    assert.deepEqual(Object.fromEntries(located), {
      'foo.noarch': 'http://127.0.0.1:1/b/Packages/f/foo-1-1.noarch.rpm',
      'bar.noarch': 'http://127.0.0.1:2/elsewhere/Packages/bar-1-1.noarch.rpm',
    });
    const toggled = configOf(conf, ['--disablerepo', 'b', '--enablerepo', 'c']);
    const again = await locateInMetadata(openCache(cache), await cachedRepos(toggled, openCache(cache)), installed);
    assert.equal(again.get('foo.noarch'), 'http://127.0.0.1:1/a/Packages/foo-1-1.noarch.rpm');
    assert.equal(again.get('baz.noarch'), 'http://127.0.0.1:1/c/baz-1-1.noarch.rpm');
  }));

test('a cached primary that does not match its repomd.xml, or a link in the cache, is refused in one line', () =>
  withCache(async (cache) => {
    cacheRepo(cache, 'a', 'http://127.0.0.1:1/a', [{ name: 'foo', href: 'foo-1-1.noarch.rpm' }], true);
    const one = configOf('[main]\n[a]\nbaseurl=http://127.0.0.1:1/a\n');
    await assert.rejects(
      async () => locateInMetadata(openCache(cache), await cachedRepos(one, openCache(cache)), installed),
      (e: unknown) => e instanceof IsomockError && /a's cached .*-primary\.xml\.gz.*checksum mismatch/.test(e.message),
    );
    const dir = join(cache, `a-${sha256('http://127.0.0.1:1/a').slice(0, 16)}`, 'repodata');
    rmSync(join(dir, 'repomd.xml'));
    writeFileSync(join(cache, 'planted.xml'), '<repomd/>');
    symlinkSync(join(cache, 'planted.xml'), join(dir, 'repomd.xml'));
    await assert.rejects(
      async () => locateInMetadata(openCache(cache), await cachedRepos(one, openCache(cache)), installed),
      (e: unknown) => e instanceof IsomockError && !e.message.includes('\n') && /symlink|link/.test(e.message),
    );
  }));
