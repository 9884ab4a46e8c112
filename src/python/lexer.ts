/**
 * Tokenizer for the part of Python that Mock config files use. It follows
 * Python's lexical rules (implicit line joining inside brackets, backslash
 * continuation, string prefixes and escapes, numeric literals) so that what
 * it accepts means what Python would make of it.
 */

/** 'error' marks a lexical problem the parser reports when it gets there, so earlier errors win. */
type TokenKind = 'name' | 'number' | 'string' | 'op' | 'newline' | 'eof' | 'error';

export interface Token {
  kind: TokenKind;
  /** Name or operator text; for strings the decoded value; for numbers the source text. */
  value: string;
  /** 0-based line of the (include-expanded) source. */
  line: number;
  /** Set on string tokens. */
  prefix?: string;
}

/** A lexical or syntax error at a line of the expanded source; the loader maps it to file:line. */
export class SourceError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const operators = [
  '**=',
  '//=',
  '>>=',
  '<<=',
  '...',
  '->',
  ':=',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '&=',
  '|=',
  '^=',
  '@=',
  '==',
  '!=',
  '<=',
  '>=',
  '**',
  '//',
  '<<',
  '>>',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  ':',
  '.',
  ';',
  '=',
  '+',
  '-',
  '*',
  '/',
  '%',
  '<',
  '>',
  '&',
  '|',
  '^',
  '~',
  '@',
];

const numberRe =
  /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*|[0-9](?:_?[0-9])*\.?)(?:[eE][+-]?[0-9](?:_?[0-9])*)?[jJ]?)/;

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 0;
  let depth = 0;
  let atLineStart = true;
  const push = (kind: TokenKind, value: string, extra: Partial<Token> = {}): void => {
    tokens.push({ kind, value, line, ...extra });
  };
  while (pos < src.length) {
    const ch = src[pos]!;
    if (atLineStart && depth === 0) {
      // A logical line starts: blank and comment-only lines are skipped, indentation is refused.
      const m = /^[ \t\f]*/.exec(src.slice(pos))!;
      const after = src[pos + m[0].length];
      if (
        after === undefined ||
        after === '\n' ||
        after === '#' ||
        (after === '\r' && src[pos + m[0].length + 1] === '\n')
      ) {
        pos += m[0].length;
        const nl = src.indexOf('\n', pos);
        if (nl < 0) break;
        pos = nl + 1;
        line++;
        continue;
      }
      if (after === '\\' && src[pos + m[0].length + 1] === '\n') {
        throw new SourceError('a line may not start with a backslash continuation', line);
      }
      if (m[0].length > 0) push('error', 'unexpected indent (isomock reads only top-level statements)');
      pos += m[0].length;
      atLineStart = false;
      continue;
    }
    if (ch === '\n') {
      if (depth === 0) {
        push('newline', '\n');
        atLineStart = true;
      }
      pos++;
      line++;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\f' || ch === '\r') {
      pos++;
      continue;
    }
    if (ch === '#') {
      while (pos < src.length && src[pos] !== '\n') pos++;
      continue;
    }
    if (ch === '\\') {
      if (src[pos + 1] === '\n' || (src[pos + 1] === '\r' && src[pos + 2] === '\n')) {
        pos += src[pos + 1] === '\n' ? 2 : 3;
        line++;
        continue;
      }
      throw new SourceError('unexpected character after line continuation character', line);
    }
    const rest = src.slice(pos, pos + 400);
    const str = /^([rRbBuUfF]{0,2})(['"])/.exec(rest);
    if (str && /^(|r|u|b|f|br|rb|fr|rf)$/i.test(str[1]!)) {
      const prefix = str[1]!.toLowerCase();
      if (prefix.includes('f'))
        throw new SourceError('f-strings are not supported (isomock does not run Python)', line);
      if (prefix.includes('b')) throw new SourceError('bytes literals are not supported in config files', line);
      const startLine = line;
      const { value, end, lines } = readString(src, pos + str[1]!.length, prefix.includes('r'), line);
      tokens.push({ kind: 'string', value, line: startLine, prefix });
      pos = end;
      line += lines;
      continue;
    }
    const num = numberRe.exec(rest);
    if (num && num[0] !== '' && /[0-9.]/.test(ch) && !(ch === '.' && !/^\.[0-9]/.test(rest))) {
      push('number', num[0]);
      pos += num[0].length;
      continue;
    }
    const name = /^[\p{L}_][\p{L}\p{N}_]*/u.exec(rest);
    if (name) {
      push('name', name[0]);
      pos += name[0].length;
      continue;
    }
    const op = operators.find((o) => src.startsWith(o, pos));
    if (op) {
      if (op === '(' || op === '[' || op === '{') depth++;
      if (op === ')' || op === ']' || op === '}') depth = Math.max(0, depth - 1);
      push('op', op);
      pos += op.length;
      continue;
    }
    throw new SourceError(`invalid character ${JSON.stringify(ch)} in the config`, line);
  }
  if (depth > 0) throw new SourceError('unexpected end of file: a bracket is never closed', line);
  if (tokens.length > 0 && tokens[tokens.length - 1]!.kind !== 'newline') push('newline', '\n');
  push('eof', '');
  return tokens;
}

const simpleEscapes: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

function readString(
  src: string,
  start: number,
  raw: boolean,
  line: number,
): { value: string; end: number; lines: number } {
  const q = src[start]!;
  const triple = src.startsWith(q.repeat(3), start);
  const close = triple ? q.repeat(3) : q;
  let pos = start + close.length;
  let value = '';
  let lines = 0;
  for (;;) {
    if (pos >= src.length) throw new SourceError('unterminated string literal', line);
    const ch = src[pos]!;
    if (src.startsWith(close, pos)) return { value, end: pos + close.length, lines };
    if (ch === '\n') {
      if (!triple) throw new SourceError('unterminated string literal (a newline inside quotes)', line + lines);
      lines++;
      value += ch;
      pos++;
      continue;
    }
    if (ch !== '\\') {
      value += ch;
      pos++;
      continue;
    }
    const next = src[pos + 1];
    if (next === undefined) throw new SourceError('unterminated string literal', line);
    if (next === '\n') lines++;
    if (raw) {
      // In raw strings a backslash only stops the next character from ending the string.
      value += ch + next;
      pos += 2;
      continue;
    }
    pos += 2;
    if (next === '\n') continue;
    if (next in simpleEscapes) value += simpleEscapes[next];
    else if (/[0-7]/.test(next)) {
      const oct = /^[0-7]{1,3}/.exec(src.slice(pos - 1, pos + 2))![0];
      value += String.fromCodePoint(parseInt(oct, 8));
      pos += oct.length - 1;
    } else if (next === 'x' || next === 'u' || next === 'U') {
      const len = next === 'x' ? 2 : next === 'u' ? 4 : 8;
      const hex = src.slice(pos, pos + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex))
        throw new SourceError(`truncated \\${next} escape in a string`, line + lines);
      value += String.fromCodePoint(parseInt(hex, 16));
      pos += len;
    } else if (next === 'N') throw new SourceError('\\N{...} escapes are not supported', line + lines);
    else value += '\\' + next; // Python keeps unknown escapes as written.
  }
}
