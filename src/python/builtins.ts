/**
 * The Python builtins Mock's configs call, with Python's results and error
 * texts: int() (Fedora's templates compare `int(config_opts['releasever'])`),
 * and str(), len() and bool(), which go with it in hand-written configs. A
 * config that defines a name of its own shadows the builtin, as in Python.
 */
import { SourceError } from './lexer.js';
import { PyFloat, pyRepr, pyStr, strRepr, truthy, typeName, type PyValue } from './value.js';

type Builtin = (args: PyValue[], line: number) => PyValue;

const fail = (message: string, line: number): never => {
  throw new SourceError(message, line);
};

function one(name: string, args: PyValue[], line: number): PyValue {
  if (args.length !== 1) fail(`${name}() takes exactly one argument (${args.length} given)`, line);
  return args[0]!;
}

function int(args: PyValue[], line: number): PyValue {
  if (args.length === 0) return 0;
  const v = one('int', args, line);
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof PyFloat) {
    if (!Number.isFinite(v.value)) fail(`cannot convert float ${pyRepr(v)} to integer`, line);
    return Math.trunc(v.value) || 0;
  }
  if (typeof v === 'string') {
    const text = v.trim();
    if (!/^[+-]?\d+(?:_\d+)*$/.test(text)) fail(`invalid literal for int() with base 10: ${strRepr(v)}`, line);
    const n = Number(text.replace(/_/g, ''));
    if (!Number.isSafeInteger(n)) fail('integer result too large for isomock', line);
    return n;
  }
  return fail(`int() argument must be a string, a bytes-like object or a real number, not '${typeName(v)}'`, line);
}

function len(args: PyValue[], line: number): PyValue {
  const v = one('len', args, line);
  if (typeof v === 'string') return [...v].length;
  if (Array.isArray(v)) return v.length;
  if (v !== null && typeof v === 'object' && !(v instanceof PyFloat)) return Object.keys(v).length;
  return fail(`object of type '${typeName(v)}' has no len()`, line);
}

export const builtins: ReadonlyMap<string, Builtin> = new Map<string, Builtin>([
  ['int', int],
  ['str', (args, line) => (args.length === 0 ? '' : pyStr(one('str', args, line)))],
  ['len', len],
  ['bool', (args, line) => (args.length === 0 ? false : truthy(one('bool', args, line)))],
]);
