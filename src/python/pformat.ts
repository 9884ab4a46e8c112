/**
 * pprint.pformat(value) with its defaults (width 80, indent 1, sorted dicts):
 * Mock's --debug-config prints every option through it, so the layout of long
 * lists, dicts and strings must match line for line.
 */
import { isDict, PyTuple, pyRepr, sortedKeys, strRepr, type PyValue } from './value.js';

const WIDTH = 80;

export function pformat(value: PyValue): string {
  const out: string[] = [];
  format(value, out, 0, 0, 0);
  return out.join('');
}

function format(v: PyValue, out: string[], indent: number, allowance: number, level: number): void {
  const rep = pyRepr(v);
  if (rep.length > WIDTH - indent - allowance) {
    if (typeof v === 'string') return formatString(v, out, indent, allowance, level + 1);
    if (v instanceof PyTuple) {
      const end = v.length === 1 ? ',)' : ')';
      out.push('(');
      formatItems(v, out, indent, allowance + end.length, level + 1);
      out.push(end);
      return;
    }
    if (Array.isArray(v)) {
      out.push('[');
      formatItems(v, out, indent, allowance + 1, level + 1);
      out.push(']');
      return;
    }
    if (isDict(v)) {
      out.push('{');
      formatDictItems(v, out, indent + 1, allowance + 1, level + 1);
      out.push('}');
      return;
    }
  }
  out.push(rep);
}

function formatItems(items: PyValue[], out: string[], indent: number, allowance: number, level: number): void {
  indent += 1;
  items.forEach((item, i) => {
    const last = i === items.length - 1;
    if (i > 0) out.push(',\n' + ' '.repeat(indent));
    format(item, out, indent, last ? allowance : 1, level);
  });
}

function formatDictItems(
  d: Record<string, PyValue>,
  out: string[],
  indent: number,
  allowance: number,
  level: number,
): void {
  const keys = sortedKeys(d);
  keys.forEach((key, i) => {
    const last = i === keys.length - 1;
    const rep = strRepr(key);
    out.push(rep, ': ');
    format(d[key]!, out, indent + rep.length + 2, last ? allowance : 1, level);
    if (!last) out.push(',\n' + ' '.repeat(indent));
  });
}

/** Long strings are cut at whitespace into adjacent literals; at top level they are parenthesised. */
function formatString(s: string, out: string[], indent: number, allowance: number, level: number): void {
  if (level === 1) {
    indent += 1;
    allowance += 1;
  }
  const maxWidth = WIDTH - indent;
  let maxWidth1 = maxWidth;
  const chunks: string[] = [];
  const lines = splitLinesKeepEnds(s);
  lines.forEach((line, i) => {
    const lastLine = i === lines.length - 1;
    const rep = strRepr(line);
    if (lastLine) maxWidth1 -= allowance;
    if (rep.length <= maxWidth1) {
      chunks.push(rep);
      return;
    }
    const parts = line.match(/\S*\s*/gu)!.filter((p) => p !== '');
    let maxWidth2 = maxWidth;
    let current = '';
    parts.forEach((part, j) => {
      const candidate = current + part;
      if (j === parts.length - 1 && lastLine) maxWidth2 -= allowance;
      if (strRepr(candidate).length > maxWidth2) {
        if (current) chunks.push(strRepr(current));
        current = part;
      } else current = candidate;
    });
    if (current) chunks.push(strRepr(current));
  });
  if (chunks.length === 1) {
    out.push(strRepr(s));
    return;
  }
  if (level === 1) out.push('(');
  out.push(chunks.join('\n' + ' '.repeat(indent)));
  if (level === 1) out.push(')');
}

/** Python's line boundaries (str.splitlines): control characters on purpose. */
// eslint-disable-next-line no-control-regex
const pythonLine = /[^\n\r\v\f\x1c-\x1e\x85\u2028\u2029]*(?:\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]|$)/gu;

/** str.splitlines(True) for the line breaks that matter in configs. */
function splitLinesKeepEnds(s: string): string[] {
  return s.match(pythonLine)!.filter((l) => l !== '');
}
