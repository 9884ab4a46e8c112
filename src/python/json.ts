/**
 * Python's json.dumps, byte for byte, for the two places where Mock's bytes
 * matter: the lockfile (indent=4, sort_keys=True) and the bootstrap
 * image_digest (sort_keys=True, default separators), both with
 * ensure_ascii=True. JSON.stringify differs in separators, key order and the
 * escaping of non-ASCII characters.
 */
import { comparePyStr, floatRepr } from './value.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface DumpsOptions {
  /** Like Python's indent=N; undefined means one line with ", " and ": ". */
  indent?: number;
}

export function pythonJsonDumps(value: JsonValue, options: DumpsOptions = {}): string {
  return render(value, options.indent, 0);
}

function render(value: JsonValue, indent: number | undefined, depth: number): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return renderNumber(value);
  if (typeof value === 'string') return quote(value);
  const items = Array.isArray(value)
    ? value.map((v) => render(v, indent, depth + 1))
    : Object.keys(value)
        .sort(comparePyStr)
        .map((k) => `${quote(k)}: ${render(value[k]!, indent, depth + 1)}`);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (items.length === 0) return open + close;
  if (indent === undefined) return open + items.join(', ') + close;
  const pad = '\n' + ' '.repeat(indent * (depth + 1));
  return open + pad + items.join(',' + pad) + '\n' + ' '.repeat(indent * depth) + close;
}

function renderNumber(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
  // Integers print alike; JS has no int/float distinction, so a float that is
  // integral prints as an int (Mock's recorded configs hold ints only).
  if (Number.isInteger(n)) return String(n);
  return floatRepr(n);
}

const escapes: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const code = s.charCodeAt(i);
    if (escapes[ch]) out += escapes[ch];
    else if (code < 0x20 || code > 0x7e) out += '\\u' + code.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}
