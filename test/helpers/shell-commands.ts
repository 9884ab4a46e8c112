/**
 * The commands an `sh -c` script runs, as argument vectors: the subset of the
 * POSIX shell the project writes (quotes, `$N`/`"$@"`/`shift`, simple
 * assignments, `$(...)`, pipelines and lists, redirections, if/while/for/case,
 * `exec` and `command`). Builtins run nothing and are left out. A word whose
 * value only the running shell knows (an unknown variable, a command's output)
 * is undefined. Pure: spawns nothing, reads nothing.
 */

type Segment = { lit: string } | { param: string } | { subst: string };
type Token = { word: Segment[] } | { op: string };

/** A command found in a script: its words, with unknown ones undefined, and the PATH assigned for it if any. */
export interface ShellCommand {
  argv: Array<string | undefined>;
  path?: string;
}

const builtins = new Set(
  (
    'cd echo printf set export unset shift test [ true false : exit return read trap wait kill umask ' +
    'local alias unalias type getopts pwd ulimit hash readonly break continue . source times'
  ).split(' '),
);
const openers = new Set(['if', 'then', 'else', 'elif', 'do', 'while', 'until', '!', '{']);
const closers = new Set(['fi', 'done', '}', 'esac']);

/** The end (index of the closing parenthesis) of a `$(` starting at i, skipping quotes. */
function closingParen(s: string, i: number): number {
  let depth = 0;
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === "'") i = s.indexOf("'", i + 1);
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
    if (i < 0) break;
  }
  throw new Error('unterminated $(');
}

function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  let word: Segment[] | undefined;
  const lit = (text: string): void => {
    const last = (word ??= []).at(-1);
    if (last && 'lit' in last) last.lit += text;
    else word.push({ lit: text });
  };
  const end = (): void => {
    if (word) tokens.push({ word });
    word = undefined;
  };
  /** A `$` expansion at i (inside or outside double quotes); returns the index after it. */
  const dollar = (i: number): number => {
    const next = s[i + 1] ?? '';
    if (s.startsWith('$((', i)) {
      const close = s.indexOf('))', i);
      (word ??= []).push({ param: '((arithmetic))' });
      return close + 2;
    }
    if (next === '(') {
      const close = closingParen(s, i + 1);
      (word ??= []).push({ subst: s.slice(i + 2, close) });
      return close + 1;
    }
    if (next === '{') {
      const close = s.indexOf('}', i);
      (word ??= []).push({ param: s.slice(i + 2, close) });
      return close + 1;
    }
    const m = /^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])/.exec(s.slice(i + 1));
    if (!m) {
      lit('$');
      return i + 1;
    }
    (word ??= []).push({ param: m[0] });
    return i + 1 + m[0].length;
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t') {
      end();
      i++;
    } else if (c === '\n') {
      end();
      tokens.push({ op: ';' });
      i++;
    } else if (c === '#' && !word) {
      i = s.indexOf('\n', i) < 0 ? s.length : s.indexOf('\n', i);
    } else if (c === "'") {
      const close = s.indexOf("'", i + 1);
      if (close < 0) throw new Error('unterminated single quote');
      lit(s.slice(i + 1, close));
      i = close + 1;
    } else if (c === '"') {
      word ??= [];
      for (i++; s[i] !== '"';) {
        if (i >= s.length) throw new Error('unterminated double quote');
        if (s[i] === '\\' && '$`"\\\n'.includes(s[i + 1] ?? '')) {
          lit(s[i + 1]!);
          i += 2;
        } else if (s[i] === '$') i = dollar(i);
        else if (s[i] === '`') {
          const close = s.indexOf('`', i + 1);
          word.push({ subst: s.slice(i + 1, close) });
          i = close + 1;
        } else lit(s[i++]!);
      }
      i++;
    } else if (c === '\\') {
      if (s[i + 1] !== '\n') lit(s[i + 1] ?? '');
      i += 2;
    } else if (c === '$') {
      i = dollar(i);
    } else if (c === '`') {
      const close = s.indexOf('`', i + 1);
      (word ??= []).push({ subst: s.slice(i + 1, close) });
      i = close + 1;
    } else if ('<>'.includes(c) && (!word || word.every((seg) => 'lit' in seg && /^\d*$/.test(seg.lit)))) {
      // A redirection, its file descriptor included: `2>&1` needs no target word, `>/dev/null` takes one.
      word = undefined;
      const m = /^[<>]+[|&]?(?:\d+|-)?/.exec(s.slice(i))![0];
      tokens.push({ op: /&(?:\d+|-)$/.test(m) ? 'redirect-fd' : 'redirect' });
      i += m.length;
    } else if ('|&;()'.includes(c)) {
      end();
      const m = /^(?:&&|\|\||;;|&>|[|&;()])/.exec(s.slice(i))![0];
      tokens.push({ op: m === '&>' ? 'redirect' : m });
      i += m.length;
    } else {
      lit(c);
      i++;
    }
  }
  end();
  return tokens;
}

interface Context {
  /** $0, $1, ...: undefined where only the running program knows the value. */
  positional: Array<string | undefined>;
  vars: Map<string, string | undefined>;
}

/** A word's values: `"$@"` alone is many words; unknown parts make it undefined. */
function expand(word: Segment[], ctx: Context, out: ShellCommand[]): Array<string | undefined> {
  const only = word.length === 1 ? word[0]! : undefined;
  if (only && 'param' in only && (only.param === '@' || only.param === '*')) return ctx.positional.slice(1);
  let text: string | undefined = '';
  for (const seg of word) {
    let value: string | undefined;
    if ('lit' in seg) value = seg.lit;
    else if ('subst' in seg) out.push(...commandsIn(seg.subst, ctx));
    else if (/^\d+$/.test(seg.param))
      value = Number(seg.param) < ctx.positional.length ? ctx.positional[Number(seg.param)] : '';
    else value = ctx.vars.get(seg.param);
    text = value === undefined || text === undefined ? undefined : text + value;
  }
  return [text];
}

function isWord(t: Token | undefined): t is { word: Segment[] } {
  return t !== undefined && 'word' in t;
}

const literal = (t: Token | undefined): string | undefined =>
  isWord(t) && t.word.length === 1 && 'lit' in t.word[0]! ? t.word[0].lit : undefined;

function commandsIn(script: string, outer: Context): ShellCommand[] {
  const ctx: Context = { positional: [...outer.positional], vars: new Map(outer.vars) };
  const tokens = tokenize(script);
  const out: ShellCommand[] = [];
  /** Inside `case ... in` before an item's `)`: patterns, not commands. */
  let patterns = false;
  for (let i = 0; i < tokens.length;) {
    const t = tokens[i]!;
    const keyword = literal(t);
    if (patterns) {
      if (keyword === 'esac' || ('op' in t && t.op === ')')) patterns = false;
      i++;
    } else if (keyword !== undefined && (openers.has(keyword) || closers.has(keyword))) {
      i++;
    } else if (keyword === 'case') {
      while (i < tokens.length && literal(tokens[i]) !== 'in') i++;
      patterns = true;
      i++;
    } else {
      // One simple command: its words and redirections, up to the next control operator.
      let j = i;
      const words: Segment[][] = [];
      for (; j < tokens.length; j++) {
        const w = tokens[j]!;
        if (isWord(w)) words.push(w.word);
        else if (w.op === 'redirect') j++;
        else if (w.op !== 'redirect-fd') break;
      }
      if (keyword !== 'for') simpleCommand(words, ctx, out); // `for NAME in WORDS`: the body follows `do`
      patterns = (tokens[j] as { op: string } | undefined)?.op === ';;';
      i = j + 1;
    }
  }
  return out;
}

function simpleCommand(words: Segment[][], ctx: Context, out: ShellCommand[]): void {
  const assigned = new Map<string, string | undefined>();
  for (let m; words.length && (m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(literalPrefix(words[0]!))); words.shift()) {
    const [first, ...rest] = words[0]!;
    assigned.set(m[1]!, expand([{ lit: (first as { lit: string }).lit.slice(m[0].length) }, ...rest], ctx, out)[0]);
  }
  let argv = words.flatMap((w) => expand(w, ctx, out));
  if (argv.length === 0) {
    for (const [k, v] of assigned) ctx.vars.set(k, v);
    return;
  }
  while (argv[0] === 'exec' || argv[0] === 'command') {
    if (argv[0] === 'command' && argv[1]?.startsWith('-')) return; // command -v / -V: a lookup, nothing runs
    argv = argv.slice(1);
  }
  if (argv[0] === 'shift') ctx.positional.splice(1, Number(argv[1] ?? 1));
  if (argv[0] === 'export' || argv[0] === 'readonly' || argv[0] === 'local') {
    for (const a of argv.slice(1)) {
      const m = a === undefined ? null : /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(a);
      if (m) ctx.vars.set(m[1]!, a!.slice(m[0].length));
    }
  }
  if (argv.length === 0 || (argv[0] !== undefined && builtins.has(argv[0]))) return;
  const path = assigned.has('PATH') ? assigned.get('PATH') : ctx.vars.get('PATH');
  out.push(path === undefined ? { argv } : { argv, path });
}

/** The literal text a word starts with ('' when it starts with an expansion). */
function literalPrefix(word: Segment[]): string {
  const first = word[0];
  return first && 'lit' in first ? first.lit : '';
}

/**
 * The commands `sh -c SCRIPT NAME ARGS...` runs: `positional` is [NAME, ARGS...]
 * ($0 first). Throws on a script it cannot read (an unterminated quote).
 */
export function shellCommands(script: string, positional: Array<string | undefined> = ['sh']): ShellCommand[] {
  return commandsIn(script, { positional: positional.length ? positional : ['sh'], vars: new Map() });
}
