/**
 * Python values as Mock's config files hold them, and Python's repr() of them.
 *
 * Mapping: str -> string, int -> number, float -> PyFloat, bool -> boolean,
 * None -> null, list -> Array, tuple -> PyTuple, dict -> PyDict (an object
 * with no prototype, so Jinja templates can look keys up as attributes and a
 * key like "constructor" is just data).
 */

export type PyValue = string | number | boolean | null | PyFloat | PyValue[] | PyTuple | PyDict;
export interface PyDict {
  [key: string]: PyValue;
}

/** A Python float: kept apart from int because repr(1.0) is '1.0'. */
export class PyFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  toString(): string {
    return floatRepr(this.value);
  }
}

/** A Python tuple: an array that says it is one (templates may still loop over it). */
export class PyTuple extends Array<PyValue> {
  static fromItems(items: PyValue[]): PyTuple {
    const t = new PyTuple();
    t.push(...items);
    return t;
  }
  // Array methods such as map() must build plain arrays, not tuples.
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
}

export function newDict(entries: [string, PyValue][] = []): PyDict {
  const d = Object.create(null) as PyDict;
  for (const [k, v] of entries) d[k] = v;
  return d;
}

export function isDict(v: unknown): v is PyDict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === null;
}

export function typeName(v: PyValue): string {
  if (v === null) return 'NoneType';
  if (typeof v === 'string') return 'str';
  if (typeof v === 'number') return 'int';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof PyFloat) return 'float';
  if (v instanceof PyTuple) return 'tuple';
  if (Array.isArray(v)) return 'list';
  return 'dict';
}

/** Python's truth value. */
export function truthy(v: PyValue): boolean {
  if (v === null) return false;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number' || typeof v === 'boolean') return Boolean(v);
  if (v instanceof PyFloat) return v.value !== 0;
  if (Array.isArray(v)) return v.length > 0;
  return Object.keys(v).length > 0;
}

function numeric(v: PyValue): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof PyFloat) return v.value;
  return undefined;
}

/** Python's ==: 1 == 1.0 == True, (1,) != [1], dicts compare by content. */
export function pyEquals(a: PyValue, b: PyValue): boolean {
  const na = numeric(a);
  const nb = numeric(b);
  if (na !== undefined || nb !== undefined) return na === nb;
  if (a === null || b === null || typeof a === 'string' || typeof b === 'string') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return false;
    if (a instanceof PyTuple !== b instanceof PyTuple || a.length !== b.length) return false;
    return a.every((x, i) => pyEquals(x, b[i]!));
  }
  if (!isDict(a) || !isDict(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => k in b && pyEquals(a[k]!, b[k]!));
}

export function deepCopy(v: PyValue): PyValue {
  if (v instanceof PyTuple) return PyTuple.fromItems(v.map(deepCopy));
  if (Array.isArray(v)) return v.map(deepCopy);
  if (isDict(v)) return newDict(Object.entries(v).map(([k, x]) => [k, deepCopy(x)]));
  return v;
}

/** str.isprintable(): these categories are escaped by repr(). */
const unprintable = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

export function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  // Printable ASCII (most option values) needs only its quote and backslashes escaped.
  if (/^[ -~]*$/.test(s)) return quote + s.replace(quote === "'" ? /['\\]/g : /["\\]/g, '\\$&') + quote;
  let out = quote;
  for (const ch of s) {
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch !== ' ' && unprintable.test(ch)) {
      const cp = ch.codePointAt(0)!;
      if (cp < 0x100) out += '\\x' + cp.toString(16).padStart(2, '0');
      else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
      else out += '\\U' + cp.toString(16).padStart(8, '0');
    } else out += ch;
  }
  return out + quote;
}

/** repr(float): the shortest round-trip digits, laid out by Python's rules. */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expText] = x.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  const sign = mant.startsWith('-') ? '-' : '';
  const digits = mant.replace(/^-/, '').replace('.', '');
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = digits.slice(exp + 1);
  return `${sign}${intPart}.${frac || '0'}`;
}

/** Python's str order: by code point (JS's < compares UTF-16 units, which differs past U+FFFF). */
export function comparePyStr(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate stands for a code point past U+FFFF: above every other unit, whatever its own value.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    return xs === ys ? x - y : xs ? 1 : -1;
  }
  return a.length - b.length;
}

export function sortedKeys(d: PyDict): string[] {
  return Object.keys(d).sort(comparePyStr);
}

/**
 * repr(). Dicts come out with sorted keys, as pprint's safe repr writes them
 * (the only repr --debug-config uses); `insertionOrder` gives plain repr().
 */
export function pyRepr(v: PyValue, insertionOrder = false): string {
  if (v === null) return 'None';
  if (typeof v === 'string') return strRepr(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  if (v instanceof PyFloat) return floatRepr(v.value);
  if (v instanceof PyTuple) {
    const inner = v.map((x) => pyRepr(x, insertionOrder));
    return inner.length === 1 ? `(${inner[0]},)` : `(${inner.join(', ')})`;
  }
  if (Array.isArray(v)) return `[${v.map((x) => pyRepr(x, insertionOrder)).join(', ')}]`;
  const keys = insertionOrder ? Object.keys(v) : sortedKeys(v);
  return `{${keys.map((k) => `${strRepr(k)}: ${pyRepr(v[k]!, insertionOrder)}`).join(', ')}}`;
}

/** str(): what Jinja prints for a value. */
export function pyStr(v: PyValue): string {
  return typeof v === 'string' ? v : pyRepr(v, true);
}

/** JSON form for --json: tuples become arrays, floats numbers. */
export function toJson(v: PyValue): unknown {
  if (v instanceof PyFloat) return v.value;
  if (Array.isArray(v)) return v.map(toJson);
  if (isDict(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
  return v;
}

/** The inverse of toJson, for options that come from JSON (a lockfile's config). */
export function fromJson(v: unknown): PyValue {
  if (Array.isArray(v)) return v.map(fromJson);
  if (v !== null && typeof v === 'object') return newDict(Object.entries(v).map(([k, x]) => [k, fromJson(x)]));
  return v as PyValue;
}
