import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IsomockError } from '../src/errors.js';
import { Sense } from '../src/rpm/deps.js';
import {
  formatRichDep,
  isRichDep,
  parseRichDep,
  type DependencyTag,
  type RichDep,
  type RichTerm,
} from '../src/rpm/richdep.js';
import { Random } from './helpers/random.js';

const atom = (name: string, flags = 0, evr = '') => ({ name, flags, evr });

test('rich dependencies parse into trees', () => {
  const cases: [string, RichDep][] = [
    ['(a)', { op: 'single', arg: atom('a') }],
    ['(a and b and c)', { op: 'and', args: [atom('a'), atom('b'), atom('c')] }],
    [
      '(a >= 1:2.0-3 or b(x86-64) < 2)',
      {
        op: 'or',
        args: [atom('a', Sense.greater | Sense.equal, '1:2.0-3'), atom('b(x86-64)', Sense.less, '2')],
      },
    ],
    ['(a if b else c)', { op: 'if', left: atom('a'), right: atom('b'), else: atom('c') }],
    ['(a if (b and c))', { op: 'if', left: atom('a'), right: { op: 'and', args: [atom('b'), atom('c')] } }],
    ['(a unless b else c)', { op: 'unless', left: atom('a'), right: atom('b'), else: atom('c') }],
    ['(a with b with c)', { op: 'with', args: [atom('a'), atom('b'), atom('c')] }],
    ['(a without b)', { op: 'without', left: atom('a'), right: atom('b') }],
    [
      '((a or b) and (c if d))',
      {
        op: 'and',
        args: [
          { op: 'or', args: [atom('a'), atom('b')] },
          { op: 'if', left: atom('c'), right: atom('d') },
        ],
      },
    ],
    ['((a))', { op: 'single', arg: { op: 'single', arg: atom('a') } }],
  ];
  for (const [text, tree] of cases) {
    assert.deepEqual(parseRichDep(text), tree, text);
    assert.equal(formatRichDep(tree), text, text);
  }
});

test('rendering normalises spacing and operator spellings as rpmbuild does', () => {
  assert.equal(formatRichDep(parseRichDep('(  a =< 1,or  b == 2\tor c => 3 )')), '(a <= 1 or b = 2 or c >= 3)');
  // Without blanks around it an operator is part of the name, as in rpm.
  assert.equal(formatRichDep(parseRichDep('(c=>3)')), '(c=>3)');
});

/** Malformed input, each refused by rpmbuild too (checked against it below). */
const malformed: [string, RegExp, DependencyTag?][] = [
  ['()', /empty group/],
  ['(a and )', /missing operand after 'and'/],
  ['(a', /unterminated group opened at column 1/],
  ['((a and b)', /unterminated/],
  ['(a b)', /unknown operator 'b'/],
  ['(a and b or c)', /cannot mix 'and' and 'or'/],
  ['(a if b if c)', /'if' cannot be chained/],
  ['(a without b without c)', /'without' cannot be chained/],
  ['(a if b else c else d)', /'else' cannot be chained/],
  ['(a >= )', /a version is required after 'a'/],
  ['(a) b', /unexpected text after the closing parenthesis/],
  ['((a and b) with c)', /operands of 'with'/],
  ['(a unless b)', /'unless' is not allowed in this context/, 'requires'],
  ['(a if b)', /'if' is not allowed in this context/, 'conflicts'],
  ['(a or (b if c))', /'if' is not allowed in this context/, 'requires'],
];

test('malformed rich dependencies fail with a message naming the text and column', () => {
  for (const [text, message, tag] of malformed) {
    assert.throws(
      () => parseRichDep(text, tag),
      (err: unknown) => {
        assert.ok(err instanceof IsomockError, text);
        assert.match(err.message, message, text);
        assert.ok(err.message.includes(`'${text}' at column `), err.message);
        return true;
      },
    );
  }
  // rpm's parser takes a lone 'else' but gives it no meaning; isomock refuses it.
  assert.throws(() => parseRichDep('(a else b)'), /'else' without 'if' or 'unless'/);
});

/** rpmbuild's verdict on one dependency line: its canonical text, or null if refused. */
type Verdict = string | null;

/** Our verdict: the canonical text, or the error. */
type Outcome = string | IsomockError;

/**
 * Let rpmbuild (through `rpmspec -q`, one process for every case) parse each
 * dependency as a Requires or Conflicts of its own spec file.
 */
function rpmspecVerdicts(cases: readonly { text: string; tag: 'requires' | 'conflicts' }[]): Verdict[] {
  const dir = mkdtempSync(join(tmpdir(), 'iso-vercmp-'));
  try {
    const files = cases.map(({ text, tag }, i) => {
      const file = join(dir, `c${i}.spec`);
      const field = tag === 'requires' ? 'Requires' : 'Conflicts';
      writeFileSync(
        file,
        `Name: c${i}\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\n${field}: ${text}\n%description\nd\n%files\n`,
      );
      return file;
    });
    const qf = '@%{NAME}\n[R%{REQUIRENAME}\n][C%{CONFLICTNAME}\n]';
    const run = spawnSync('rpmspec', ['-q', '--qf', qf, ...files], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const verdicts: Verdict[] = cases.map(() => null);
    let current = -1;
    for (const line of run.stdout.split('\n')) {
      if (line.startsWith('@c')) current = Number(line.slice(2));
      // A rich dependency is one entry; anything more means rpm split the line.
      else if (line.startsWith('R') || line.startsWith('C'))
        verdicts[current] = verdicts[current] === null ? line.slice(1) : 'split';
    }
    return verdicts;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function ourOutcome(text: string, tag: DependencyTag): Outcome {
  try {
    return formatRichDep(parseRichDep(text, tag));
  } catch (err) {
    if (err instanceof IsomockError) return err;
    throw err;
  }
}

/** rpmbuild's own rule for spec files: versions hold only these characters. */
function hasSpecIllegalVersion(term: RichTerm): boolean {
  if (!isRichDep(term)) return !/^[A-Za-z0-9._+:%{}~^-]*$/.test(term.evr);
  const parts =
    term.op === 'single'
      ? [term.arg]
      : 'args' in term
        ? term.args
        : [term.left, term.right, 'else' in term ? term.else : undefined];
  return parts.some((p) => p !== undefined && hasSpecIllegalVersion(p));
}

/** Agreement, or one of the deliberate differences from rpm. */
function agrees(ours: Outcome, rpm: Verdict, text: string): boolean {
  if (!(ours instanceof IsomockError))
    return ours === rpm || (rpm === null && hasSpecIllegalVersion(parseRichDep(text)));
  // rpm reads a valid group followed by more text as several dependencies; isomock refuses the rest.
  // rpm's parser takes a lone 'else' but gives it no meaning; isomock refuses it.
  return rpm === null || rpm === 'split' || /'else' without/.test(ours.message);
}

const names = ['a', 'b', 'pkg-devel', 'lib(x86-64)', 'perl(Foo::Bar)', '/usr/bin/sh', 'c', 'font(:lang=en)'];
const evrs = ['1', '1.0', '2:1.0-3', '1.0~rc1', '1.0^git1', '0.1-1.fc40'];
const spelled = ['<', '<=', '=<', '=', '==', '>', '>=', '=>'];
const binary = ['and', 'or', 'with', 'without', 'if', 'unless'];
const blanks = [' ', ' ', ' ', '  ', '\t', ' , '];

/** A random, mostly valid rich dependency written with uneven spacing and spellings. */
function randomRich(r: Random, depth: number): string {
  const term = (): string => {
    if (depth > 0 && r.chance(0.35)) return randomRich(r, depth - 1);
    const name = r.pick(names);
    // rpmbuild refuses versioned file names (a spec-file rule, not grammar).
    return r.chance(0.4) && !name.startsWith('/')
      ? `${name}${r.pick(blanks)}${r.pick(spelled)}${r.pick(blanks)}${r.pick(evrs)}`
      : name;
  };
  const sp = (): string => r.pick(blanks);
  if (r.chance(0.1)) return `(${sp()}${term()}${sp()})`;
  const op = r.pick(binary);
  let body = `${term()} ${op} ${term()}`;
  if ((op === 'and' || op === 'or' || op === 'with') && r.chance(0.4)) body += `${sp()}${op}${sp()}${term()}`;
  if ((op === 'if' || op === 'unless') && r.chance(0.5)) body += `${sp()}else${sp()}${term()}`;
  return `(${r.chance(0.3) ? sp() : ''}${body}${r.chance(0.3) ? sp() : ''})`;
}

/** Break a valid string the ways people do: drop, double or swap a token or parenthesis. */
function mutate(r: Random, text: string): string {
  const at = r.int(text.length);
  switch (r.int(4)) {
    case 0:
      return text.slice(0, at) + text.slice(at + 1);
    case 1:
      return text.slice(0, at) + r.pick(['(', ')', ' and ', ' else ', ' or ', ' >= ', ' x ']) + text.slice(at);
    case 2:
      return text.replace(r.pick(binary), r.pick(binary));
    default:
      return text.replace(/\)$/, '') + r.pick(['', ') )', ')x']);
  }
}

test('parsing and rendering equal rpmbuild on 1500 generated rich dependencies', () => {
  const r = new Random(1312);
  const cases: { text: string; tag: 'requires' | 'conflicts' }[] = [];
  while (cases.length < 1500) {
    let text = randomRich(r, 3);
    if (r.chance(0.3)) text = mutate(r, text);
    cases.push({ text, tag: r.chance(0.5) ? 'requires' : 'conflicts' });
  }
  for (const [text, , tag] of malformed) cases.push({ text, tag: tag === 'conflicts' ? 'conflicts' : 'requires' });
  const theirs = rpmspecVerdicts(cases);
  const wrong = cases
    .map(({ text, tag }, i) => ({ text, tag, ours: ourOutcome(text, tag), rpm: theirs[i]! }))
    .filter((c) => !agrees(c.ours, c.rpm, c.text))
    .map((c) => ({ ...c, ours: String(c.ours) }));
  const accepted = theirs.filter((v) => v !== null && v !== 'split').length;
  assert.ok(accepted > 600 && accepted < cases.length - 200, `a mix of valid and invalid cases (${accepted} valid)`);
  assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} of ${cases.length} cases differ from rpmbuild`);
});
