/**
 * Rich (boolean) dependencies: `(a and (b >= 1 or c))` parsed into a tree
 * with rpm 4.18's grammar and checks, and rendered back the way rpmbuild
 * stores them (single spaces, canonical operators, parentheses kept).
 */
import { IsomockError } from '../errors.js';
import { formatDependency, parseOperator, type Dependency } from './deps.js';
import type { DependencyKind } from './package.js';

export type RichTerm = Dependency | RichDep;

/** One parenthesised group. Chains of and/or/with keep all their operands. */
export type RichDep =
  | { op: 'single'; arg: RichTerm }
  | { op: 'and' | 'or' | 'with'; args: RichTerm[] }
  | { op: 'without'; left: RichTerm; right: RichTerm }
  | { op: 'if' | 'unless'; left: RichTerm; right: RichTerm; else?: RichTerm };

type Op = 'and' | 'or' | 'with' | 'without' | 'if' | 'unless' | 'else';
const ops = new Set<string>(['and', 'or', 'with', 'without', 'if', 'unless', 'else']);

/** Tags whose rich dependencies rpm reads as "any of" (checked like `or`). */
const negativeTags = new Set(['conflicts', 'supplements', 'enhances']);

/**
 * What a group forbids around it, as rpm tracks it: and/if/unless inside
 * with/without; `if` under or-like and `unless` under and-like contexts.
 */
interface Limits {
  noWith: boolean;
  noAnd: boolean;
  noOr: boolean;
}

export const isRichDep = (t: RichTerm): t is RichDep => 'op' in t;

// rpm's whitespace (isspace in the C locale); ',' also separates.
const isBlank = (c: string | undefined): boolean => c !== undefined && ' \t\n\v\f\r,'.includes(c);
const isSpace = (c: string | undefined): boolean => c !== undefined && ' \t\n\v\f\r'.includes(c);

class Parser {
  pos = 0;
  constructor(
    readonly text: string,
    readonly checkContext: boolean,
  ) {}

  fail(what: string, at = this.pos): never {
    throw new IsomockError(`invalid rich dependency '${this.text}' at column ${at + 1}: ${what}`);
  }

  skipBlanks(): void {
    while (isBlank(this.text[this.pos])) this.pos++;
  }

  /** A name or version: up to a blank or an unbalanced ')', so `foo(x86-64)` is one word. */
  word(): string {
    const start = this.pos;
    let depth = 0;
    for (let c = this.text[this.pos]; c !== undefined && !isBlank(c); c = this.text[++this.pos]) {
      if (c === ')' && depth-- <= 0) break;
      if (c === '(') depth++;
    }
    return this.text.slice(start, this.pos);
  }

  simple(): Dependency {
    const name = this.word();
    if (!name) this.fail('a package name is required');
    this.skipBlanks();
    const afterName = this.pos;
    const flags = parseOperator(this.word());
    if (!flags) {
      this.pos = afterName;
      return { name, flags: 0, evr: '' };
    }
    this.skipBlanks();
    const evr = this.word();
    if (!evr) this.fail(`a version is required after '${name}'`);
    return { name, flags, evr };
  }

  /** An operator word ends at a space or ')' (a ',' does not end it, as in rpm). */
  operator(): Op {
    const start = this.pos;
    while (this.pos < this.text.length && !isSpace(this.text[this.pos]) && this.text[this.pos] !== ')') this.pos++;
    const word = this.text.slice(start, this.pos);
    if (!ops.has(word)) this.fail(`unknown operator '${word}'`, start);
    return word as Op;
  }

  group(): { dep: RichDep; limits: Limits } {
    const open = this.pos;
    if (this.text[this.pos++] !== '(') this.fail("a rich dependency starts with '('", open);
    const args: RichTerm[] = [];
    const seen: Op[] = [];
    const limits: Limits = { noWith: false, noAnd: false, noOr: false };
    for (;;) {
      this.skipBlanks();
      if (this.text[this.pos] === ')')
        this.fail(seen.length ? `missing operand after '${seen.at(-1)}'` : 'empty group');
      if (this.text[this.pos] === '(') {
        const inner = this.group();
        // A condition (after if/unless) may use and/or freely.
        const condition = seen.at(-1) === 'if' || seen.at(-1) === 'unless';
        limits.noWith ||= inner.limits.noWith;
        limits.noAnd ||= inner.limits.noAnd && !condition;
        limits.noOr ||= inner.limits.noOr && !condition;
        args.push(inner.dep);
      } else {
        args.push(this.simple());
      }
      this.skipBlanks();
      if (this.pos >= this.text.length) this.fail(`unterminated group opened at column ${open + 1}`);
      if (this.text[this.pos] === ')') break;
      const at = this.pos;
      const op = this.operator();
      const prev = seen.at(-1);
      const elseBranch = op === 'else' && (prev === 'if' || prev === 'unless');
      if (prev && !elseBranch) {
        if (op !== prev) this.fail(`cannot mix '${prev}' and '${op}' in one group: add parentheses`, at);
        if (op !== 'and' && op !== 'or' && op !== 'with') this.fail(`'${op}' cannot be chained`, at);
      }
      if (op === 'else' && !elseBranch) this.fail("'else' without 'if' or 'unless'", at);
      seen.push(op);
    }
    this.pos++;
    this.checkLimits(seen[0], limits, open);
    const last = seen.at(-1);
    if (seen[0] === 'if') limits.noOr = true;
    if (seen[0] === 'unless') limits.noAnd = true;
    if (last === 'and' || last === 'or') limits.noAnd = limits.noOr = false;
    if (last !== undefined && last !== 'with' && last !== 'without' && last !== 'or') limits.noWith = true;
    return { dep: build(seen, args), limits };
  }

  /** rpm's context rules; the and/or ones only apply when the dependency's tag is known. */
  checkLimits(op: Op | undefined, limits: Limits, at: number): void {
    if ((op === 'with' || op === 'without') && limits.noWith) {
      this.fail(`the operands of '${op}' may only be simple, 'with', 'without' or 'or' groups`, at);
    }
    if (!this.checkContext) return;
    if ((op === 'and' || op === 'if') && limits.noAnd) {
      this.fail("'unless' is not allowed in this context, use 'or' instead", at);
    }
    if ((op === 'or' || op === 'unless') && limits.noOr) {
      this.fail("'if' is not allowed in this context, use 'and' instead", at);
    }
  }
}

function build(seen: Op[], args: RichTerm[]): RichDep {
  // A leading 'else' was refused by the parser.
  const first = seen[0] as Exclude<Op, 'else'> | undefined;
  const second = seen[1];
  const [left, right, otherwise] = args as [RichTerm, RichTerm, RichTerm];
  switch (first) {
    case undefined:
      return { op: 'single', arg: left };
    case 'if':
    case 'unless':
      return second ? { op: first, left, right, else: otherwise } : { op: first, left, right };
    case 'without':
      return { op: first, left, right };
    case 'and':
    case 'or':
    case 'with':
      return { op: first, args };
  }
}

/** Dependency tags that may hold rich dependencies, for rpm's per-tag rules on if/unless. */
export type DependencyTag = Exclude<DependencyKind, 'provides'>;

/**
 * Parse a rich dependency. With `tag`, also apply rpmbuild's rules for that
 * tag (e.g. `unless` directly in Requires is refused, `if` in Conflicts).
 */
export function parseRichDep(text: string, tag?: DependencyTag): RichDep {
  const parser = new Parser(text, tag !== undefined);
  const { dep, limits } = parser.group();
  if (parser.pos < text.length) parser.fail('unexpected text after the closing parenthesis');
  if (tag !== undefined) parser.checkLimits(negativeTags.has(tag) ? 'or' : 'and', limits, 0);
  return dep;
}

/** The canonical text of a rich dependency, as rpmbuild writes it into headers. */
export function formatRichDep(dep: RichDep): string {
  const term = (t: RichTerm): string => (isRichDep(t) ? formatRichDep(t) : formatDependency(t));
  switch (dep.op) {
    case 'single':
      return `(${term(dep.arg)})`;
    case 'and':
    case 'or':
    case 'with':
      return `(${dep.args.map(term).join(` ${dep.op} `)})`;
    case 'without':
      return `(${term(dep.left)} without ${term(dep.right)})`;
    case 'if':
    case 'unless': {
      const otherwise = dep.else ? ` else ${term(dep.else)}` : '';
      return `(${term(dep.left)} ${dep.op} ${term(dep.right)}${otherwise})`;
    }
  }
}
