import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  dependencyMatches,
  formatDependency,
  formatOperator,
  parseOperator,
  Sense,
  type Dependency,
} from '../src/rpm/deps.js';
import { Random } from './helpers/random.js';

/** (provide, require, match) as written in rpm's tests/rpmdepmatch.at; '<>' is LESS|GREATER. */
type Tuple = [string] | [string, string, string];
const rpmDepmatchVectors: [Tuple, Tuple, number][] = [];
{
  const ops = ['=', '>=', '<=', '<', '>', '<>'];
  const expect = (p: Tuple, results: number[], evr = '1.2'): void => {
    ops.forEach((op, i) => rpmDepmatchVectors.push([p, ['a', op, evr], results[i]!]));
  };
  // Different names never match; an unversioned side matches anything.
  rpmDepmatchVectors.push([['b'], ['a'], 0], [['a'], ['a'], 1]);
  for (const op of ops)
    rpmDepmatchVectors.push([['b'], ['a', op, '1.2'], 0], [['a'], ['a', op, '1.2'], 1], [['a', op, '1.2'], ['a'], 1]);
  expect(['a', '=', '1.2'], [1, 1, 1, 0, 0, 0]);
  expect(['a', '=', '1.2'], [0, 0, 1, 1, 0, 1], '1.3');
  expect(['a', '=', '1.2-1'], [1, 1, 1, 0, 0, 0], '1.2-1');
  expect(['a', '=', '1.2-1'], [0, 0, 1, 1, 0, 1], '1.2-2');
  expect(['a', '=', '1.3-1'], [0, 1, 0, 0, 1, 1], '1.2-2');
  expect(['a', '=', '0:1.2'], [1, 1, 1, 0, 0, 0]);
  expect(['a', '=', '1.2'], [1, 1, 1, 0, 0, 0], '0:1.2');
  expect(['a', '=', '1:1.2'], [0, 1, 0, 0, 1, 1]);
  expect(['a', '=', '1.2'], [0, 0, 1, 1, 0, 1], '1:1.2');
  expect(['a', '=', '2:1.2'], [1, 1, 1, 0, 0, 0], '2:1.2');
  expect(['a', '>', '1.2'], [0, 1, 0, 0, 1, 1]);
  expect(['a', '<', '1.2'], [0, 0, 1, 1, 0, 1]);
  expect(['a', '>=', '1.2'], [1, 1, 1, 0, 1, 1]);
  expect(['a', '<=', '1.2'], [1, 1, 1, 1, 0, 1]);
  expect(['a', '<>', '1.2'], [0, 1, 1, 1, 1, 1]);
}

const toDependency = ([name, op, evr]: Tuple): Dependency => ({
  name,
  flags: op === '<>' ? Sense.less | Sense.greater : op ? parseOperator(op) : 0,
  evr: evr ?? '',
});

/**
 * rpm's own rpmdsCompare through its Python binding (python3-rpm, which dnf
 * depends on): one process answers every pair.
 */
function rpmdsCompare(pairs: [Tuple, Tuple][]): number[] {
  const script = [
    'import sys, json, rpm',
    'for line in sys.stdin:',
    '    p, r = json.loads(line)',
    "    print(int(rpm.ds(tuple(p), 'provides').Compare(rpm.ds(tuple(r), 'requires'))))",
  ].join('\n');
  const out = execFileSync('/usr/bin/python3', ['-c', script], {
    input: pairs.map((p) => JSON.stringify(p)).join('\n') + '\n',
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return out.trim().split('\n').map(Number);
}

function assertSameAsRpm(cases: [Tuple, Tuple][]): void {
  const theirs = rpmdsCompare(cases);
  assert.equal(theirs.length, cases.length);
  const wrong = cases
    .map(([p, r], i) => ({ p, r, ours: Number(dependencyMatches(toDependency(p), toDependency(r))), rpm: theirs[i] }))
    .filter((c) => c.ours !== c.rpm);
  assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} of ${cases.length} pairs differ from rpm`);
}

test("rpm's published dependency-matching vectors", () => {
  for (const [p, r, expected] of rpmDepmatchVectors) {
    assert.equal(Number(dependencyMatches(toDependency(p), toDependency(r))), expected, `${p} vs ${r}`);
  }
});

test('the installed rpm agrees with the published vectors (the oracle is sound)', () => {
  const theirs = rpmdsCompare(rpmDepmatchVectors.map(([p, r]) => [p, r]));
  assert.deepEqual(
    theirs,
    rpmDepmatchVectors.map(([, , expected]) => expected),
  );
});

const versions = ['1', '1.0', '1.0.1', '1.00', '1.0~rc1', '1.0^git1', '1.0a', '2', '0.9', '10'];
const epochs = ['', '', '', '0:', '1:', '2:', ':'];
const releases = ['', '', '-1', '-2', '-1.fc40', '-0.rc1', '-1~beta', '-10'];
const dependencyOps = ['', '=', '<', '<=', '>', '>=', '<>'];

function randomTuple(r: Random, near?: string): Tuple {
  const op = r.pick(dependencyOps);
  if (!op) return ['a'];
  const version = near !== undefined && r.chance(0.6) ? near : r.pick(versions);
  // An empty EVR with an operator is what a malformed header can carry: rpm matches it.
  const evr = r.chance(0.02) ? '' : r.pick(epochs) + version + r.pick(releases);
  return ['a', op, evr];
}

test('dependencyMatches equals rpmdsCompare on 8000 generated provide/require pairs', () => {
  const r = new Random(4242);
  const cases: [Tuple, Tuple][] = [];
  while (cases.length < 8000) {
    const version = r.pick(versions);
    cases.push([randomTuple(r, version), randomTuple(r, version)]);
  }
  assertSameAsRpm(cases);
});

test('operators parse in every spelling rpm accepts and print canonically', () => {
  const spellings: [string, string][] = [
    ['<', '<'],
    ['<=', '<='],
    ['=<', '<='],
    ['=', '='],
    ['==', '='],
    ['>', '>'],
    ['>=', '>='],
    ['=>', '>='],
  ];
  for (const [op, canonical] of spellings) assert.equal(formatOperator(parseOperator(op)), canonical, op);
  for (const op of ['', '<>', '!=', '~', '=='.repeat(2)]) assert.equal(parseOperator(op), 0, op);
  assert.equal(formatDependency({ name: 'a', flags: Sense.greater | Sense.equal, evr: '1:2-3' }), 'a >= 1:2-3');
  assert.equal(formatDependency({ name: '/bin/sh', flags: 0, evr: '' }), '/bin/sh');
});
