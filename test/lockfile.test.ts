import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import { parseLockfile, rpmFileName, serializeLockfile, type Lockfile } from '../src/lockfile/lockfile.js';
import { signatureFromPgpsig } from '../src/rpm/header-pgp.js';
import { pythonJsonDumps, type JsonValue } from '../src/python/json.js';
import { IsomockError } from '../src/errors.js';
import { referenceDir } from './helpers/paths.js';

const mockOutputs = readdirSync(join(referenceDir, 'mock-output'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => join(referenceDir, 'mock-output', d.name, 'buildroot_lock.json'));

test("Mock's own lockfiles parse and serialize back to the same bytes", () => {
  assert.ok(mockOutputs.length > 0);
  for (const file of mockOutputs) {
    const text = readFileSync(file, 'utf8');
    const lock = parseLockfile(text, file);
    assert.equal(serializeLockfile(lock), text, file);
  }
});

test("isomock's schema accepts and refuses what Mock's published schemas do", () => {
  const ajv = new Ajv({ strict: false });
  ajv.addMetaSchema(createRequire(import.meta.url)('ajv/dist/refs/json-schema-draft-06.json'));
  const mockSchemas = ['1.0.0', '1.1.0'].map((v) =>
    ajv.compile(JSON.parse(readFileSync(join(referenceDir, `buildroot-lock-schema-${v}.json`), 'utf8'))),
  );
  const good = JSON.parse(readFileSync(mockOutputs[0]!, 'utf8')) as Lockfile;
  const variants: [string, (l: any) => void][] = [
    ['as is', () => {}],
    [
      '1.0.0 with only image_digest',
      (l) => {
        l.version = '1.0.0';
        l.bootstrap = { image_digest: 'a'.repeat(64) };
      },
    ],
    [
      '1.0.0 without bootstrap',
      (l) => {
        l.version = '1.0.0';
        delete l.bootstrap;
      },
    ],
    [
      '1.1.0 without bootstrap',
      (l) => {
        delete l.bootstrap;
      },
    ],
    [
      'extra rpm field',
      (l) => {
        l.buildroot.rpms[0].sha256 = 'x';
      },
    ],
    [
      'missing sigmd5',
      (l) => {
        delete l.buildroot.rpms[0].sigmd5;
      },
    ],
    [
      'numeric epoch',
      (l) => {
        l.buildroot.rpms[0].epoch = 1;
      },
    ],
    [
      'bootstrap missing id',
      (l) => {
        delete l.bootstrap.id;
      },
    ],
    [
      'unknown top-level key',
      (l) => {
        l.extra = {};
      },
    ],
    [
      'version 2.0.0',
      (l) => {
        l.version = '2.0.0';
      },
    ],
  ];
  for (const [what, change] of variants) {
    const lock = structuredClone(good);
    change(lock);
    const mockSays = mockSchemas.some((v) => v(lock));
    let oursSays = true;
    try {
      parseLockfile(JSON.stringify(lock), 'x.json');
    } catch (err) {
      assert.ok(err instanceof IsomockError, what);
      oursSays = false;
    }
    assert.equal(oursSays, mockSays, what);
  }
});

test('a url that is not http(s), or whose file name could escape the repository, is refused', () => {
  const good = JSON.parse(readFileSync(mockOutputs[0]!, 'utf8')) as Lockfile;
  for (const url of [
    'file:///etc/passwd.rpm',
    'ftp://127.0.0.1/a.rpm',
    'http://127.0.0.1/repo/..%2F..%2Fetc%2Fx.rpm',
    'http://127.0.0.1/repo/%2E%2E',
    'http://127.0.0.1/repo/',
    'http://127.0.0.1/repo/a.txt',
    'not a url',
  ]) {
    const lock = structuredClone(good);
    lock.buildroot.rpms[0]!.url = url;
    assert.throws(
      () => parseLockfile(JSON.stringify(lock), 'bad.json'),
      /invalid lockfile bad\.json: buildroot\.rpms\[0\]/,
      url,
    );
  }
});

test('file names are the decoded last URL segment', () => {
  const rpm = JSON.parse(readFileSync(mockOutputs[0]!, 'utf8')).buildroot.rpms[0];
  rpm.url = 'http://127.0.0.1:8090/repo/bash-5.2.15-2%2Bb8.deb.w1.x86_64.rpm';
  assert.equal(rpmFileName(rpm), 'bash-5.2.15-2+b8.deb.w1.x86_64.rpm');
});

test('signature is the last 8 characters of the key ID in pgpsig', () => {
  assert.equal(signatureFromPgpsig('RSA/SHA256, Sun Mar 31 12:41:20 2024, Key ID 199e2f91fd431d51'), 'fd431d51');
  assert.equal(signatureFromPgpsig('(none)'), null);
});

test("pythonJsonDumps matches Python's json.dumps on awkward data", () => {
  const samples: JsonValue[] = [
    { b: 1, a: [1, 2, { z: null, y: true }], ü: 'naïve ☃ \u0000\u001f\u007f \ud83d\ude00 "q" \\' },
    // eslint-disable-next-line no-loss-of-precision -- a number past 2^53, as json.dumps writes it
    { '%_topdir': '/builddir/build', '%_platform_multiplier': 1, n: -0.5, big: 12345678901234567, tiny: 1e-7 },
    [],
    {},
    { a: [], b: {}, Z: 'upper sorts first', é: 1, e: 2, '\ud83d\ude00': 3, '\uffff': 4 },
  ];
  const script =
    'import json,sys\nfor d in json.load(sys.stdin):\n print(json.dumps(d, sort_keys=True))\n print(json.dumps(d, sort_keys=True, indent=4))';
  const python = execFileSync('python3', ['-c', script], { input: JSON.stringify(samples), encoding: 'utf8' });
  const ours = samples.flatMap((s) => [pythonJsonDumps(s), pythonJsonDumps(s, { indent: 4 })]).join('\n') + '\n';
  assert.equal(ours, python);
});
