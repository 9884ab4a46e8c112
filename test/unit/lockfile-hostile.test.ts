/**
 * A lockfile and the isomock record travel: parse-time validation is the
 * only thing between their text and the host. Each hostile value here is
 * refused when the file is parsed, in one line naming the field, with Mock's
 * exit code 5; the values Mock itself writes are accepted. Unit tier: no
 * root, no servers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordedConfigKeys, parseLockfile, type Lockfile } from '../../src/lockfile/lockfile.js';
import { parseRecord } from '../../src/lockfile/record.js';
import { IsomockError } from '../../src/errors.js';
import { badHostPath } from '../../src/util/untrusted-text.js';
import { referenceDir } from '../helpers/paths.js';

const mockLockfile = join(referenceDir, 'mock-output', 'dyn-synth', 'buildroot_lock.json');
const good = JSON.parse(readFileSync(mockLockfile, 'utf8')) as Lockfile;

type Change = (l: any) => void;

function parsed(change: Change): Lockfile {
  const lock = structuredClone(good);
  change(lock);
  return parseLockfile(JSON.stringify(lock), 'hostile.json');
}

function refused(what: string, change: Change, field: RegExp): void {
  assert.throws(
    () => parsed(change),
    (e: unknown) => {
      assert.ok(e instanceof IsomockError, `${what}: an IsomockError, got ${String(e)}`);
      assert.equal(e.exitCode, 5, what);
      assert.ok(!e.message.includes('\n'), `${what}: one line: ${e.message}`);
      assert.match(e.message, /^invalid lockfile hostile\.json/, what);
      assert.match(e.message, field, what);
      return true;
    },
    what,
  );
}

const rpm0 = (l: { buildroot: { rpms: Record<string, unknown>[] } }) => l.buildroot.rpms[0]!;
const macro = (name: string, value: unknown) => (l: { config: { macros: Record<string, unknown> } }) => {
  l.config.macros[name] = value;
};

describe('a hostile lockfile is refused at parse time', () => {
  const cases: [string, Change, RegExp][] = [
    // Values that reach the host as paths: strict.
    ['%_dbpath running a command', macro('%_dbpath', '/var/lib/rpm%(touch /tmp/pwned)'), /%_dbpath.*holds a %/],
    ['%_dbpath with a newline', macro('%_dbpath', '/var/lib/rpm\n%_topdir /x'), /%_dbpath.*control/],
    ['%_dbpath relative', macro('%_dbpath', 'var/lib/rpm'), /%_dbpath.*not absolute/],
    ['%_topdir climbing out', macro('%_topdir', '/../../../../var/tmp/victim'), /%_topdir.*not a normalized/],
    ['%_topdir with ..', macro('%_topdir', '/builddir/../../etc'), /%_topdir.*not a normalized/],
    ['%_topdir with //', macro('%_topdir', '/builddir//build'), /%_topdir.*not a normalized/],
    ['%_topdir with a NUL', macro('%_topdir', '/builddir\0/build'), /%_topdir.*control/],
    ['%_topdir not a string', macro('%_topdir', ['/x']), /%_topdir.*not a string/],
    // Other macros reach only the build user's .rpmmacros: one line each.
    ['a macro with a newline', macro('%dist', '.w1\n%_topdir /etc'), /%dist.*newline/],
    ['a macro with a CR', macro('%dist', '.w1\r'), /%dist.*newline/],
    ['a macro with a NUL', macro('%dist', '.w1\0'), /%dist.*NUL/],
    ['a macro with a Jinja template', macro('%dist', "{{ '' }}"), /%dist.*Jinja/],
    ['a macro name with a space', macro('%a b', 'x'), /macro name/],
    ['a macro name with a newline', macro('%a\n%_dbpath', 'x'), /macro name/],
    ['a macro name without %', macro('_dbpath', 'x'), /macro name/],
    ['a macro object', macro('%x', { a: 1 }), /not a string or a number/],
    ['macros not an object', (l) => (l.config.macros = ['%x 1']), /macros .*not an object/],
    // Config values that reach config files, argv or paths.
    ['target_arch with a newline', (l) => (l.config.target_arch = 'x86_64\npluginpath=/tmp'), /target_arch/],
    ['target_arch with a /', (l) => (l.config.target_arch = '../x'), /target_arch/],
    ['legal_host_arches not a list', (l) => (l.config.legal_host_arches = 'x86_64'), /legal_host_arches/],
    ['legal_host_arches with a bad arch', (l) => (l.config.legal_host_arches = ['x86 64']), /legal_host_arches/],
    ['dist with a newline', (l) => (l.config.dist = 'w1\nx'), /dist/],
    ['package_manager a path', (l) => (l.config.package_manager = '/tmp/dnf'), /package_manager/],
    ['bootstrap_image with ..', (l) => (l.config.bootstrap_image = '127.0.0.1/../../etc:1'), /bootstrap_image/],
    ['bootstrap_image with a space', (l) => (l.config.bootstrap_image = 'a b'), /bootstrap_image/],
    ['bootstrap_image_ready a string', (l) => (l.config.bootstrap_image_ready = 'yes'), /bootstrap_image_ready/],
    // Digests: exact formats.
    ['pull_digest with ..', (l) => (l.bootstrap.pull_digest = 'sha256:../../../../tmp/img'), /pull_digest/],
    ['pull_digest without sha256:', (l) => (l.bootstrap.pull_digest = 'a'.repeat(64)), /pull_digest/],
    ['pull_digest upper case', (l) => (l.bootstrap.pull_digest = 'sha256:' + 'A'.repeat(64)), /pull_digest/],
    ['image_digest short', (l) => (l.bootstrap.image_digest = 'abc'), /image_digest/],
    ['image id with a /', (l) => (l.bootstrap.id = '../' + 'a'.repeat(61)), /bootstrap: id/],
    ['architecture with a newline', (l) => (l.bootstrap.architecture = 'amd64\n'), /architecture/],
    ['sigmd5 short', (l) => (rpm0(l).sigmd5 = 'abc'), /sigmd5/],
    ['sigmd5 with a newline', (l) => (rpm0(l).sigmd5 = 'a'.repeat(31) + '\n'), /sigmd5/],
    ['signature not hex', (l) => (rpm0(l).signature = 'zzzzzzzz'), /signature/],
    // Package names that become file names and argv words.
    ['name with a /', (l) => (rpm0(l).name = '../etc'), /name "\.\.\/etc" holds a \//],
    ['name ..', (l) => (rpm0(l).name = '..'), /name "\.\." is \.\./],
    ['name .', (l) => (rpm0(l).name = '.'), /name "\." is \./],
    ['name with a NUL', (l) => (rpm0(l).name = 'a\0b'), /name/],
    ['name with a newline', (l) => (rpm0(l).name = 'a\nb'), /name/],
    ['name starting with -', (l) => (rpm0(l).name = '--define=x'), /name/],
    ['version with a /', (l) => (rpm0(l).version = '1/2'), /version/],
    ['version with a -', (l) => (rpm0(l).version = '1-2'), /version/],
    ['release ..', (l) => (rpm0(l).release = '..'), /release/],
    ['arch with a /', (l) => (rpm0(l).arch = 'x86_64/..'), /arch/],
    ['epoch not a number', (l) => (rpm0(l).epoch = '1/'), /epoch/],
    ['url file:', (l) => (rpm0(l).url = 'file:///etc/passwd.rpm'), /url.*not http/],
    ['url with an escaped /', (l) => (rpm0(l).url = 'http://127.0.0.1/r/..%2Fx.rpm'), /url/],
  ];
  for (const [what, change, field] of cases) it(what, () => refused(what, change, field));
});

describe("what Mock's lockfiles hold is accepted", () => {
  it("Mock's own lockfile, with %_rpmfilename's %% and a numeric macro", () => {
    const lock = parsed(() => {});
    assert.equal(
      (lock.config['macros'] as Record<string, unknown>)['%_rpmfilename'],
      '%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm',
    );
  });
  it('a v6 package without SIGMD5: (none)', () => void parsed((l) => (rpm0(l).sigmd5 = '(none)')));
  it('an epoch', () => void parsed((l) => (rpm0(l).epoch = '2')));
  it("Mock 5.7's image_digest (podman's sha256:...)", () =>
    void parsed((l) => {
      l.version = '1.0.0';
      l.bootstrap = { image_digest: 'sha256:' + 'b'.repeat(64) };
    }));
  it('a macro with a tab and Lua braces', () => void parsed(macro('%x', '%{lua: print("a\tb")}')));
});

describe('a hostile isomock record is refused at parse time', () => {
  const entry = { sigmd5: 'a'.repeat(32), sha256: 'b'.repeat(64), size: 10, repo: 'base', mirror: null };
  const record = (change: (r: any) => void): string => {
    const r = {
      isomock_lock_version: 1,
      packages: { 'a-0:1-1.x86_64': { ...entry } },
      srpms: [{ name: 'a-1-1.src.rpm', sha256: 'c'.repeat(64) }],
    };
    change(r);
    return JSON.stringify(r);
  };
  const e0 = (r: any) => r.packages['a-0:1-1.x86_64'];
  const cases: [string, (r: any) => void, RegExp][] = [
    ['sha256 short', (r) => (e0(r).sha256 = 'abc'), /sha256 is not 64 hex/],
    ['sha256 upper case', (r) => (e0(r).sha256 = 'B'.repeat(64)), /sha256/],
    ['size negative', (r) => (e0(r).size = -1), /size/],
    ['size fractional', (r) => (e0(r).size = 1.5), /size/],
    ['size beyond a safe integer', (r) => (e0(r).size = 2 ** 60), /size/],
    ['size a string', (r) => (e0(r).size = '10'), /size/],
    ['sigmd5 bad', (r) => (e0(r).sigmd5 = 'x'), /sigmd5/],
    ['repo with a newline', (r) => (e0(r).repo = 'a\nb'), /repo/],
    ['mirror not http(s)', (r) => (e0(r).mirror = 'file:///etc/'), /mirror/],
    ['an unknown field in an entry', (r) => (e0(r).path = '/etc/shadow'), /unknown field "path"/],
    ['an unknown top-level field', (r) => (r.keys = []), /unknown field "keys"/],
    ['a key with a /', (r) => (r.packages['../a-0:1-1.x86_64'] = entry), /not N-E:V-R\.A/],
    ['srpm sha256 bad', (r) => (r.srpms[0].sha256 = 'x'), /srpms\[0\]: sha256/],
    ['srpm name with a /', (r) => (r.srpms[0].name = '../a.src.rpm'), /srpms\[0\]: name/],
    ['srpm with an extra field', (r) => (r.srpms[0].path = '/x'), /srpms\[0\]: unknown field/],
    ['not an object', (r) => Object.assign(r, { packages: [] }), /packages is not an object/],
  ];
  for (const [what, change, field] of cases) {
    it(what, () =>
      assert.throws(
        () => parseRecord(record(change), 'rec.json'),
        (e: unknown) =>
          e instanceof IsomockError && e.exitCode === 5 && !e.message.includes('\n') && field.test(e.message),
      ),
    );
  }
  it('a well-formed record is read back', () => {
    const r = parseRecord(
      record(() => {}),
      'rec.json',
    );
    assert.equal(r.srpms?.[0]?.sha256, 'c'.repeat(64));
    assert.equal(r.packages['a-0:1-1.x86_64']?.size, 10);
  });
});

describe('the keys a lockfile may set for --isolated-build', () => {
  it('define the buildroot only: no host path, host command, network, signature or proxy option', () => {
    assert.deepEqual([...recordedConfigKeys].sort(), [
      'bootstrap_image',
      'bootstrap_image_ready',
      'dist',
      'legal_host_arches',
      'macros',
      'package_manager',
      'target_arch',
    ]);
  });
});

describe('host paths', () => {
  it('accepts plain absolute paths and refuses the rest', () => {
    for (const ok of ['/var/lib/rpm', '/builddir/build', '/']) assert.equal(badHostPath(ok), undefined, ok);
    for (const bad of ['', 'rel', '/a/../b', '/a/./b', '/a//b', '/a/', '/a%{x}', '/a\nb', '/a\tb', '/a\0b'])
      assert.notEqual(badHostPath(bad), undefined, JSON.stringify(bad));
  });
});
