import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareEvr, formatEvr, parseEvr, rpmvercmp } from '../src/rpm/version.js';
import { Random } from './helpers/random.js';

/** rpm's own test vectors: tests/rpmvercmp.at in the rpm repository (a, b, expected). */
const rpmVectors: [string, string, number][] = [
  ['1.0', '1.0', 0],
  ['1.0', '2.0', -1],
  ['2.0', '1.0', 1],
  ['2.0.1', '2.0.1', 0],
  ['2.0', '2.0.1', -1],
  ['2.0.1', '2.0', 1],
  ['2.0.1a', '2.0.1a', 0],
  ['2.0.1a', '2.0.1', 1],
  ['2.0.1', '2.0.1a', -1],
  ['5.5p1', '5.5p1', 0],
  ['5.5p1', '5.5p2', -1],
  ['5.5p2', '5.5p1', 1],
  ['5.5p10', '5.5p10', 0],
  ['5.5p1', '5.5p10', -1],
  ['5.5p10', '5.5p1', 1],
  ['10xyz', '10.1xyz', -1],
  ['10.1xyz', '10xyz', 1],
  ['xyz10', 'xyz10', 0],
  ['xyz10', 'xyz10.1', -1],
  ['xyz10.1', 'xyz10', 1],
  ['xyz.4', 'xyz.4', 0],
  ['xyz.4', '8', -1],
  ['8', 'xyz.4', 1],
  ['xyz.4', '2', -1],
  ['2', 'xyz.4', 1],
  ['5.5p2', '5.6p1', -1],
  ['5.6p1', '5.5p2', 1],
  ['5.6p1', '6.5p1', -1],
  ['6.5p1', '5.6p1', 1],
  ['6.0.rc1', '6.0', 1],
  ['6.0', '6.0.rc1', -1],
  ['10b2', '10a1', 1],
  ['10a2', '10b2', -1],
  ['1.0aa', '1.0aa', 0],
  ['1.0a', '1.0aa', -1],
  ['1.0aa', '1.0a', 1],
  ['10.0001', '10.0001', 0],
  ['10.0001', '10.1', 0],
  ['10.1', '10.0001', 0],
  ['10.0001', '10.0039', -1],
  ['10.0039', '10.0001', 1],
  ['4.999.9', '5.0', -1],
  ['5.0', '4.999.9', 1],
  ['20101121', '20101121', 0],
  ['20101121', '20101122', -1],
  ['20101122', '20101121', 1],
  ['2_0', '2_0', 0],
  ['2.0', '2_0', 0],
  ['2_0', '2.0', 0],
  ['a', 'a', 0],
  ['a+', 'a+', 0],
  ['a+', 'a_', 0],
  ['a_', 'a+', 0],
  ['+a', '+a', 0],
  ['+a', '_a', 0],
  ['_a', '+a', 0],
  ['+_', '+_', 0],
  ['_+', '+_', 0],
  ['_+', '_+', 0],
  ['+', '_', 0],
  ['_', '+', 0],
  ['1.0~rc1', '1.0~rc1', 0],
  ['1.0~rc1', '1.0', -1],
  ['1.0', '1.0~rc1', 1],
  ['1.0~rc1', '1.0~rc2', -1],
  ['1.0~rc2', '1.0~rc1', 1],
  ['1.0~rc1~git123', '1.0~rc1~git123', 0],
  ['1.0~rc1~git123', '1.0~rc1', -1],
  ['1.0~rc1', '1.0~rc1~git123', 1],
  // Documented there as current (arguably odd) behaviour: letters after digits, non-ASCII.
  ['1b.fc17', '1b.fc17', 0],
  ['1b.fc17', '1.fc17', -1],
  ['1.fc17', '1b.fc17', 1],
  ['1g.fc17', '1g.fc17', 0],
  ['1g.fc17', '1.fc17', 1],
  ['1.fc17', '1g.fc17', -1],
  ['1.1.α', '1.1.α', 0],
  ['1.1.α', '1.1.β', 0],
  ['1.1.β', '1.1.α', 0],
  ['1.1.αα', '1.1.α', 0],
  ['1.1.α', '1.1.ββ', 0],
  ['1.1.ββ', '1.1.αα', 0],
];

/** Caret cases (rpm 4.15+), stated in rpm's spec-file documentation. */
const caretVectors: [string, string, number][] = [
  ['1.0^', '1.0', 1],
  ['1.0^git1', '1.0', 1],
  ['1.0^git1', '1.01', -1],
  ['1.0^git1', '1.0^git2', -1],
  ['1.0^git1~pre', '1.0^git1', -1],
  ['1.0~rc1^git1', '1.0~rc1', 1],
  ['1.0~rc1^git1', '1.0', -1],
];

/**
 * Ask the installed rpm about many pairs in one process: a Lua block reads
 * "a<TAB>b" lines and prints one result line per pair.
 */
function rpmLua(pairs: readonly (readonly [string, string])[], luaResult: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'iso-vercmp-'));
  try {
    const file = join(dir, 'pairs.txt');
    writeFileSync(file, pairs.map(([a, b]) => `${a}\t${b}\n`).join(''));
    const lua = `for l in io.lines("${file}") do local a, b = l:match("^(.-)\\t(.*)$"); print(${luaResult} .. "\\n") end`;
    const out = execFileSync('rpm', ['--eval', `%{lua: ${lua}}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const lines = out.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, pairs.length, 'rpm printed one line per pair');
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Compare our answers with rpm's on every pair; report the first mismatches. */
function assertSameAsRpm(pairs: [string, string][], ours: (a: string, b: string) => string, luaResult: string): void {
  const theirs = rpmLua(pairs, luaResult);
  const wrong = pairs.map(([a, b], i) => ({ a, b, ours: ours(a, b), rpm: theirs[i] })).filter((r) => r.ours !== r.rpm);
  assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} of ${pairs.length} pairs differ from rpm`);
}

test("rpm's published rpmvercmp vectors", () => {
  for (const [a, b, expected] of [...rpmVectors, ...caretVectors]) {
    assert.equal(rpmvercmp(a, b), expected, `rpmvercmp(${a}, ${b})`);
    assert.equal(compareEvr(a, b), expected, `compareEvr(${a}, ${b})`);
  }
});

test('the installed rpm agrees with the published vectors (the oracle is sound)', () => {
  const all = [...rpmVectors, ...caretVectors];
  const theirs = rpmLua(
    all.map(([a, b]) => [a, b] as const),
    'rpm.vercmp(a, b)',
  );
  assert.deepEqual(
    theirs,
    all.map(([, , expected]) => String(expected)),
  );
});

const pieces = {
  numbers: ['0', '00', '1', '01', '2', '9', '10', '010', '11', '99', '100', '4294967296', '18446744073709551616'],
  words: ['a', 'b', 'z', 'A', 'Z', 'rc', 'rc1', 'alpha', 'beta', 'fc', 'el', 'git', 'p', 'pre'],
  separators: ['.', '.', '_', '+', '~', '^', '..', 'é', '#', '~~', '^^', '.~', '~^'],
};

/** A version string: numbers, words and separators in random order, sometimes doubled. */
function randomVersion(r: Random): string {
  let s = '';
  const n = 1 + r.int(6);
  for (let i = 0; i < n; i++)
    s += r.pick(r.chance(0.45) ? pieces.numbers : r.chance(0.6) ? pieces.separators : pieces.words);
  return s;
}

/** A second version close to the first, so that most pairs compare deep into the strings. */
function nearVersion(r: Random, a: string): string {
  switch (r.int(4)) {
    case 0:
      return randomVersion(r);
    case 1:
      return a + r.pick([...pieces.separators, ...pieces.numbers, ...pieces.words]);
    case 2: {
      const at = r.int(a.length + 1);
      return a.slice(0, at) + r.pick([...pieces.separators, ...pieces.numbers]) + a.slice(at + 1);
    }
    default:
      return a;
  }
}

test('rpmvercmp equals the installed rpm on 6000 generated pairs', () => {
  const r = new Random(20240531);
  const pairs: [string, string][] = [];
  while (pairs.length < 6000) {
    const a = randomVersion(r);
    pairs.push([a, nearVersion(r, a)]);
  }
  // No ':' or '-' in these strings, so rpm.vercmp sees bare versions.
  assertSameAsRpm(pairs, (a, b) => String(rpmvercmp(a, b)), 'rpm.vercmp(a, b)');
});

/** An EVR with or without epoch and release, including rpm's odd corners (":1", "1-"). */
function randomEvr(r: Random, version = randomVersion(r)): string {
  const epoch = r.pick(['', '', '', '0:', '1:', '2:', ':', '01:', '10:']);
  const release = r.pick(['', '', '-1', '-2', '-1.fc40', '-0.1~rc1', '-', '-1-2', '-10']);
  return epoch + version + release;
}

test('compareEvr and parseEvr equal the installed rpm on 4000 generated EVR pairs', () => {
  const r = new Random(7);
  const pairs: [string, string][] = [];
  while (pairs.length < 4000) {
    const v = randomVersion(r);
    pairs.push([randomEvr(r, v), randomEvr(r, r.chance(0.7) ? v : nearVersion(r, v))]);
  }
  assertSameAsRpm(pairs, (a, b) => String(compareEvr(a, b)), 'rpm.vercmp(a, b)');
  // rpm.ver shows how rpm split the first EVR of each pair.
  const split = (a: string): string => {
    const e = parseEvr(a);
    return [e.epoch ?? 'nil', e.version, e.release ?? 'nil'].join('|');
  };
  assertSameAsRpm(pairs, split, 'table.concat({tostring(rpm.ver(a).e), rpm.ver(a).v, tostring(rpm.ver(a).r)}, "|")');
});

test('formatEvr writes back what parseEvr read', () => {
  for (const evr of ['1.0', '1:1.0', '1.0-1', '2:1.0-1.fc40', '0:1', '1-2-3']) {
    assert.equal(formatEvr(parseEvr(evr)), evr);
  }
  assert.deepEqual(parseEvr(':1.0-1'), { epoch: '0', version: '1.0', release: '1' });
  assert.deepEqual(parseEvr('a:1.0'), { epoch: null, version: 'a:1.0', release: null });
});
