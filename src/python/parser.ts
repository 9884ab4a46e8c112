/**
 * Parser for the statement and expression subset of Python found in Mock
 * configs. Everything else is refused by name (a `for` loop, a function
 * definition, an import...), at the line where it appears.
 */
import { PyFloat, type PyValue } from './value.js';
import { SourceError, tokenize, type Token } from './lexer.js';

export type Expr =
  | { type: 'const'; value: PyValue; line: number }
  | { type: 'name'; id: string; line: number }
  | { type: 'list' | 'tuple'; items: Expr[]; line: number }
  | { type: 'dict'; entries: [Expr, Expr][]; line: number }
  | { type: 'subscript'; obj: Expr; index: Expr; line: number }
  | { type: 'attribute'; obj: Expr; name: string; line: number }
  | { type: 'call'; func: Expr; args: Expr[]; line: number }
  | { type: 'binop'; op: '+' | '-' | '*'; left: Expr; right: Expr; line: number }
  | { type: 'unary'; op: 'not' | '-' | '+'; operand: Expr; line: number }
  | { type: 'boolop'; op: 'and' | 'or'; left: Expr; right: Expr; line: number }
  | { type: 'compare'; first: Expr; rest: [string, Expr][]; line: number }
  | { type: 'ifexp'; test: Expr; body: Expr; orelse: Expr; line: number };

export type Target = Extract<Expr, { type: 'name' | 'subscript' }>;

export type Stmt =
  | { type: 'assign'; targets: Target[]; value: Expr; line: number }
  | { type: 'augassign'; target: Target; value: Expr; line: number }
  | { type: 'expr'; value: Expr; line: number }
  | { type: 'del'; target: Target; line: number }
  | { type: 'pass'; line: number };

const unsupportedKeywords: Record<string, string> = {
  import: "an 'import' statement",
  from: "a 'from ... import' statement",
  if: "an 'if' statement",
  for: "a 'for' loop",
  while: "a 'while' loop",
  def: 'a function definition',
  class: 'a class definition',
  with: "a 'with' statement",
  try: "a 'try' statement",
  lambda: 'a lambda',
  global: "a 'global' statement",
  return: "a 'return' statement",
  raise: "a 'raise' statement",
  assert: "an 'assert' statement",
  exec: 'exec()',
  eval: 'eval()',
  yield: "a 'yield' expression",
  async: 'async code',
  await: 'async code',
  nonlocal: "a 'nonlocal' statement",
  elif: "an 'elif' clause",
  else: "an 'else' clause",
  print: 'print()',
};

function unsupported(what: string, line: number): SourceError {
  return new SourceError(
    `unsupported Python construct: ${what} (isomock reads Mock configs without running Python)`,
    line,
  );
}

export function parseProgram(src: string): Stmt[] {
  return new Parser(tokenize(src)).program();
}

/** One expression, e.g. the argument of include(). */
export function parseExpression(src: string): Expr {
  const p = new Parser(tokenize(src));
  const e = p.testlist();
  p.expect('newline');
  return e;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private get tok(): Token {
    return this.tokens[this.i]!;
  }

  private isOp(value: string): boolean {
    return this.tok.kind === 'op' && this.tok.value === value;
  }

  private isName(value: string): boolean {
    return this.tok.kind === 'name' && this.tok.value === value;
  }

  private eatOp(value: string): boolean {
    if (!this.isOp(value)) return false;
    this.i++;
    return true;
  }

  expect(kind: Token['kind'], value?: string): Token {
    const t = this.tok;
    if (t.kind !== kind || (value !== undefined && t.value !== value)) {
      const want = value ?? (kind === 'newline' ? 'the end of the statement' : kind);
      throw new SourceError(`invalid syntax: expected ${JSON.stringify(want)}, found ${describe(t)}`, t.line);
    }
    this.i++;
    return t;
  }

  program(): Stmt[] {
    const out: Stmt[] = [];
    while (this.tok.kind !== 'eof') {
      out.push(this.statement());
      while (this.eatOp(';')) if (this.tok.kind !== 'newline') out.push(this.statement());
      this.expect('newline');
    }
    return out;
  }

  private statement(): Stmt {
    const line = this.tok.line;
    if (this.tok.kind === 'error') throw new SourceError(this.tok.value, line);
    if (this.tok.kind === 'name') {
      const word = this.tok.value;
      if (word === 'pass') {
        this.i++;
        return { type: 'pass', line };
      }
      if (word === 'del') {
        this.i++;
        return { type: 'del', target: this.target(this.test()), line };
      }
      if (
        word in unsupportedKeywords &&
        !(this.tokens[this.i + 1]?.kind === 'op' && ['=', '['].includes(this.tokens[this.i + 1]!.value))
      ) {
        throw unsupported(unsupportedKeywords[word]!, line);
      }
    }
    const first = this.testlist();
    if (this.isOp('=')) {
      const targets: Target[] = [this.target(first)];
      let value: Expr = first;
      while (this.eatOp('=')) {
        value = this.testlist();
        if (this.isOp('=')) targets.push(this.target(value));
      }
      return { type: 'assign', targets, value, line };
    }
    if (this.eatOp('+=')) return { type: 'augassign', target: this.target(first), value: this.testlist(), line };
    if (
      this.tok.kind === 'op' &&
      this.tok.value.endsWith('=') &&
      this.tok.value.length >= 2 &&
      !['==', '!=', '<=', '>='].includes(this.tok.value)
    ) {
      throw unsupported(`the '${this.tok.value}' operator`, line);
    }
    return { type: 'expr', value: first, line };
  }

  private target(e: Expr): Target {
    if (e.type === 'name' || e.type === 'subscript') return e;
    if (e.type === 'attribute') throw unsupported('assignment to an attribute', e.line);
    if (e.type === 'tuple' || e.type === 'list') throw unsupported('unpacking assignment', e.line);
    throw new SourceError('invalid syntax: cannot assign to an expression', e.line);
  }

  /** Comma-separated expressions: a bare tuple when there is a comma. */
  testlist(): Expr {
    const line = this.tok.line;
    const first = this.test();
    if (!this.isOp(',')) return first;
    const items = [first];
    while (this.eatOp(',')) {
      if (this.atExprEnd()) break;
      items.push(this.test());
    }
    return { type: 'tuple', items, line };
  }

  private atExprEnd(): boolean {
    const t = this.tok;
    return (
      t.kind === 'newline' || t.kind === 'eof' || (t.kind === 'op' && [')', ']', '}', '=', ';', '+='].includes(t.value))
    );
  }

  private test(): Expr {
    const line = this.tok.line;
    if (this.isName('lambda')) throw unsupported('a lambda', line);
    const body = this.orTest();
    if (!this.isName('if')) return body;
    this.i++;
    const test = this.orTest();
    this.expect('name', 'else');
    return { type: 'ifexp', test, body, orelse: this.test(), line };
  }

  private orTest(): Expr {
    return this.boolChain('or', () => this.boolChain('and', () => this.notTest()));
  }

  /** `a or b or c` / `a and b`: left-associative, Python keeps the operand values. */
  private boolChain(op: 'and' | 'or', operand: () => Expr): Expr {
    let left = operand();
    while (this.isName(op)) {
      const line = this.tok.line;
      this.i++;
      left = { type: 'boolop', op, left, right: operand(), line };
    }
    return left;
  }

  private notTest(): Expr {
    if (this.isName('not')) {
      const line = this.tok.line;
      this.i++;
      return { type: 'unary', op: 'not', operand: this.notTest(), line };
    }
    return this.comparison();
  }

  private comparison(): Expr {
    const line = this.tok.line;
    const first = this.arith();
    const rest: [string, Expr][] = [];
    for (;;) {
      let op: string | undefined;
      if (this.tok.kind === 'op' && ['==', '!=', '<', '>', '<=', '>='].includes(this.tok.value)) op = this.tok.value;
      else if (this.isName('in')) op = 'in';
      else if (this.isName('not') && this.tokens[this.i + 1]?.value === 'in') {
        op = 'not in';
        this.i++;
      } else if (this.isName('is')) {
        op = this.tokens[this.i + 1]?.value === 'not' ? 'is not' : 'is';
        if (op === 'is not') this.i++;
      }
      if (op === undefined) break;
      this.i++;
      rest.push([op, this.arith()]);
    }
    return rest.length ? { type: 'compare', first, rest, line } : first;
  }

  private arith(): Expr {
    let left = this.term();
    while (this.isOp('+') || this.isOp('-')) {
      const line = this.tok.line;
      const op = this.tok.value as '+' | '-';
      this.i++;
      left = { type: 'binop', op, left, right: this.term(), line };
    }
    return left;
  }

  private term(): Expr {
    let left = this.factor();
    for (;;) {
      const line = this.tok.line;
      if (this.isOp('*')) {
        this.i++;
        left = { type: 'binop', op: '*', left, right: this.factor(), line };
        continue;
      }
      if (this.isOp('%')) throw unsupported("'%' string formatting", line);
      if (this.tok.kind === 'op' && ['/', '//', '@', '**', '|', '&', '^', '<<', '>>'].includes(this.tok.value)) {
        throw unsupported(`the '${this.tok.value}' operator`, line);
      }
      return left;
    }
  }

  private factor(): Expr {
    const line = this.tok.line;
    if (this.isOp('-') || this.isOp('+')) {
      const op = this.tok.value as '-' | '+';
      this.i++;
      return { type: 'unary', op, operand: this.factor(), line };
    }
    if (this.isOp('~')) throw unsupported("the '~' operator", line);
    return this.power();
  }

  private power(): Expr {
    let e = this.atom();
    for (;;) {
      const line = this.tok.line;
      if (this.eatOp('(')) {
        const args: Expr[] = [];
        while (!this.isOp(')')) {
          if (this.isOp('*') || this.isOp('**')) throw unsupported('argument unpacking', line);
          args.push(this.test());
          if (this.isOp('=')) throw unsupported('keyword arguments', line);
          if (!this.eatOp(',')) break;
        }
        this.expect('op', ')');
        e = { type: 'call', func: e, args, line };
      } else if (this.eatOp('[')) {
        if (this.isOp(':')) throw unsupported('slicing', line);
        const index = this.testlist();
        if (this.isOp(':')) throw unsupported('slicing', line);
        this.expect('op', ']');
        e = { type: 'subscript', obj: e, index, line };
      } else if (this.eatOp('.')) {
        e = { type: 'attribute', obj: e, name: this.expect('name').value, line };
      } else return e;
    }
  }

  private atom(): Expr {
    const t = this.tok;
    const line = t.line;
    if (t.kind === 'string') {
      let value = '';
      while (this.tok.kind === 'string') value += this.tokens[this.i++]!.value; // implicit concatenation
      return { type: 'const', value, line };
    }
    if (t.kind === 'number') {
      this.i++;
      return { type: 'const', value: parseNumber(t), line };
    }
    if (t.kind === 'name') {
      if (t.value in unsupportedKeywords && !['print', 'exec', 'eval'].includes(t.value))
        throw unsupported(unsupportedKeywords[t.value]!, line);
      this.i++;
      if (t.value === 'True') return { type: 'const', value: true, line };
      if (t.value === 'False') return { type: 'const', value: false, line };
      if (t.value === 'None') return { type: 'const', value: null, line };
      return { type: 'name', id: t.value, line };
    }
    if (this.eatOp('(')) {
      if (this.eatOp(')')) return { type: 'tuple', items: [], line };
      const inner = this.testlist();
      if (this.isName('for')) throw unsupported('a generator expression', line);
      this.expect('op', ')');
      return inner;
    }
    if (this.eatOp('[')) {
      const items = this.items(']');
      return { type: 'list', items, line };
    }
    if (this.eatOp('{')) {
      const entries: [Expr, Expr][] = [];
      while (!this.isOp('}')) {
        if (this.isOp('**')) throw unsupported('dict unpacking', line);
        const key = this.test();
        if (!this.isOp(':')) throw unsupported('a set literal', line);
        this.i++;
        entries.push([key, this.test()]);
        if (this.isName('for')) throw unsupported('a dict comprehension', line);
        if (!this.eatOp(',')) break;
      }
      this.expect('op', '}');
      return { type: 'dict', entries, line };
    }
    throw new SourceError(`invalid syntax: unexpected ${describe(t)}`, line);
  }

  private items(close: string): Expr[] {
    const items: Expr[] = [];
    while (!this.isOp(close)) {
      if (this.isOp('*')) throw unsupported('unpacking in a literal', this.tok.line);
      items.push(this.test());
      if (this.isName('for')) throw unsupported('a list comprehension', this.tok.line);
      if (!this.eatOp(',')) break;
    }
    this.expect('op', close);
    return items;
  }
}

function describe(t: Token): string {
  if (t.kind === 'newline') return 'the end of the line';
  if (t.kind === 'eof') return 'the end of the file';
  if (t.kind === 'string') return 'a string';
  return JSON.stringify(t.value);
}

function parseNumber(t: Token): PyValue {
  const text = t.value.replace(/_/g, '');
  if (/[jJ]$/.test(text)) throw unsupported('a complex number', t.line);
  if (/^0[xX]/.test(text)) return checkedInt(parseInt(text.slice(2), 16), t);
  if (/^0[oO]/.test(text)) return checkedInt(parseInt(text.slice(2), 8), t);
  if (/^0[bB]/.test(text)) return checkedInt(parseInt(text.slice(2), 2), t);
  if (/[.eE]/.test(text)) return new PyFloat(Number(text));
  if (/^0+[1-9]/.test(text))
    throw new SourceError('invalid syntax: leading zeros in a decimal integer (use 0o for octal)', t.line);
  return checkedInt(Number(text), t);
}

function checkedInt(n: number, t: Token): number {
  if (!Number.isSafeInteger(n)) throw new SourceError(`integer ${t.value} is too large for isomock`, t.line);
  return n;
}
