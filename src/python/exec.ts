/**
 * Runs parsed config statements against `config_opts` with Python's
 * semantics: shared references, KeyError on a missing key, in-place `+=` on
 * lists. Mock's config_opts is a TemplatedDictionary whose alias table makes
 * e.g. `dnf_install_command` the same option as `dnf4_install_command`; the
 * root dictionary here honours the same table.
 */
import { builtins } from './builtins.js';
import type { Expr, Stmt, Target } from './parser.js';
import { SourceError } from './lexer.js';
import {
  isDict,
  newDict,
  pyEquals,
  PyFloat,
  pyRepr,
  PyTuple,
  truthy,
  typeName,
  type PyDict,
  type PyValue,
} from './value.js';

/** Option aliases as Mock declares them: alias -> the option it stands for. */
export const optionAliases: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>();
  for (const a of ['yum.conf', 'dnf5.conf', 'dnf4.conf']) m.set(a, 'dnf.conf');
  for (const opt of ['command', 'common_opts', 'install_command', 'disable_plugins', 'avoid_opts', 'builddep_opts']) {
    m.set(`dnf_${opt}`, `dnf4_${opt}`);
  }
  for (const pm of ['dnf4', 'dnf5', 'yum', 'microdnf']) m.set(`system_${pm}_command`, `${pm}_system_command`);
  m.set('system_dnf_command', 'dnf4_system_command');
  return m;
})();

export class Namespace {
  readonly locals = new Map<string, PyValue>();
  constructor(readonly root: PyDict) {}

  key(container: PyDict, key: string): string {
    return container === this.root ? (optionAliases.get(key) ?? key) : key;
  }
}

const fail = (message: string, line: number): never => {
  throw new SourceError(message, line);
};

export function execute(stmts: Stmt[], ns: Namespace): void {
  for (const s of stmts) {
    switch (s.type) {
      case 'assign': {
        const value = evaluate(s.value, ns);
        for (const t of s.targets) assign(t, value, ns);
        break;
      }
      case 'augassign': {
        const current = evaluate(s.target, ns);
        const add = evaluate(s.value, ns);
        if (Array.isArray(current) && !(current instanceof PyTuple)) {
          current.push(...iterate(add, s.line)); // list += iterable extends the same list
          assign(s.target, current, ns);
        } else assign(s.target, binop('+', current, add, s.line), ns);
        break;
      }
      case 'del':
        remove(s.target, ns);
        break;
      case 'expr':
        evaluate(s.value, ns);
        break;
      case 'pass':
        break;
    }
  }
}

/** The source form of an expression, for messages (`config_opts['a']['b']`). */
function show(e: Expr): string {
  switch (e.type) {
    case 'name':
      return e.id;
    case 'const':
      return pyRepr(e.value, true);
    case 'subscript':
      return `${show(e.obj)}[${show(e.index)}]`;
    case 'attribute':
      return `${show(e.obj)}.${e.name}`;
    case 'call':
      return `${show(e.func)}(...)`;
    default:
      return 'expression';
  }
}

function assign(t: Target, value: PyValue, ns: Namespace): void {
  if (t.type === 'name') {
    if (t.id === 'config_opts') fail('rebinding config_opts is not supported', t.line);
    ns.locals.set(t.id, value);
    return;
  }
  const obj = evaluate(t.obj, ns);
  const index = evaluate(t.index, ns);
  if (isDict(obj)) {
    obj[ns.key(obj, dictKey(index, t.line))] = value;
  } else if (Array.isArray(obj) && !(obj instanceof PyTuple)) {
    obj[listIndex(obj, index, t)] = value;
  } else fail(`'${typeName(obj)}' object does not support item assignment (${show(t.obj)})`, t.line);
}

function remove(t: Target, ns: Namespace): void {
  if (t.type === 'name') {
    if (!ns.locals.delete(t.id)) fail(`name '${t.id}' is not defined`, t.line);
    return;
  }
  const obj = evaluate(t.obj, ns);
  const index = evaluate(t.index, ns);
  if (isDict(obj)) {
    const k = dictKey(index, t.line);
    if (!(k in obj)) fail(`${show(t)} is not set (KeyError)`, t.line);
    delete obj[k];
  } else if (Array.isArray(obj) && !(obj instanceof PyTuple)) {
    obj.splice(listIndex(obj, index, t), 1);
  } else fail(`'${typeName(obj)}' object does not support item deletion`, t.line);
}

function dictKey(k: PyValue, line: number): string {
  if (typeof k !== 'string')
    fail(`dictionary keys must be strings in config files, not ${typeName(k)} ${pyRepr(k)}`, line);
  return k as string;
}

function listIndex(seq: ArrayLike<unknown>, index: PyValue, e: Expr): number {
  if (typeof index !== 'number' && typeof index !== 'boolean')
    fail(`${show(e)}: indices must be integers, not ${typeName(index)}`, e.line);
  const i = Number(index);
  const j = i < 0 ? seq.length + i : i;
  if (j < 0 || j >= seq.length) fail(`${show(e)}: index out of range (IndexError)`, e.line);
  return j;
}

function iterate(v: PyValue, line: number): PyValue[] {
  if (typeof v === 'string') return [...v];
  if (Array.isArray(v)) return [...v];
  if (isDict(v)) return Object.keys(v);
  return fail(`'${typeName(v)}' object is not iterable`, line);
}

export function evaluate(e: Expr, ns: Namespace): PyValue {
  switch (e.type) {
    case 'const':
      return e.value;
    case 'name':
      if (e.id === 'config_opts') return ns.root;
      if (ns.locals.has(e.id)) return ns.locals.get(e.id)!;
      if (e.id === 'include') return fail('include() must stand alone at the start of a line', e.line);
      return fail(
        `name '${e.id}' is not defined (only config_opts and names assigned in the config are known)`,
        e.line,
      );
    case 'list':
      return e.items.map((x) => evaluate(x, ns));
    case 'tuple':
      return PyTuple.fromItems(e.items.map((x) => evaluate(x, ns)));
    case 'dict': {
      const d = newDict();
      for (const [k, v] of e.entries) d[dictKey(evaluate(k, ns), k.line)] = evaluate(v, ns);
      return d;
    }
    case 'subscript': {
      const obj = evaluate(e.obj, ns);
      const index = evaluate(e.index, ns);
      if (isDict(obj)) {
        const k = ns.key(obj, dictKey(index, e.line));
        if (!(k in obj)) fail(`${show(e)} is not set (KeyError)`, e.line);
        return obj[k]!;
      }
      if (typeof obj === 'string') return obj[listIndex([...obj], index, e)]!;
      if (Array.isArray(obj)) return obj[listIndex(obj, index, e)]!;
      return fail(`'${typeName(obj)}' object is not subscriptable (${show(e.obj)})`, e.line);
    }
    case 'attribute':
      evaluate(e.obj, ns); // an unknown name (os, sys...) is the clearer message
      return fail(`unsupported Python construct: attribute ${show(e)} outside a method call`, e.line);
    case 'call':
      return call(e, ns);
    case 'binop':
      return binop(e.op, evaluate(e.left, ns), evaluate(e.right, ns), e.line);
    case 'unary': {
      const v = evaluate(e.operand, ns);
      if (e.op === 'not') return !truthy(v);
      if (typeof v === 'number' || typeof v === 'boolean') return e.op === '-' ? -Number(v) : Number(v);
      if (v instanceof PyFloat) return new PyFloat(e.op === '-' ? -v.value : v.value);
      return fail(`bad operand type for unary ${e.op}: '${typeName(v)}'`, e.line);
    }
    case 'boolop': {
      const left = evaluate(e.left, ns);
      if (e.op === 'and' ? !truthy(left) : truthy(left)) return left;
      return evaluate(e.right, ns);
    }
    case 'compare': {
      let left = evaluate(e.first, ns);
      for (const [op, rightExpr] of e.rest) {
        const right = evaluate(rightExpr, ns);
        if (!compare(op, left, right, e.line)) return false;
        left = right;
      }
      return true;
    }
    case 'ifexp':
      return truthy(evaluate(e.test, ns)) ? evaluate(e.body, ns) : evaluate(e.orelse, ns);
  }
}

function isInt(v: PyValue): v is number | boolean {
  return typeof v === 'number' || typeof v === 'boolean';
}

function binop(op: '+' | '-' | '*', a: PyValue, b: PyValue, line: number): PyValue {
  if (isInt(a) && isInt(b)) {
    const r = op === '+' ? Number(a) + Number(b) : op === '-' ? Number(a) - Number(b) : Number(a) * Number(b);
    if (!Number.isSafeInteger(r)) fail('integer result too large for isomock', line);
    return r;
  }
  if ((isInt(a) || a instanceof PyFloat) && (isInt(b) || b instanceof PyFloat)) {
    const x = Number(a.valueOf());
    const y = Number(b.valueOf());
    return new PyFloat(op === '+' ? x + y : op === '-' ? x - y : x * y);
  }
  if (op === '+') {
    if (typeof a === 'string' && typeof b === 'string') return a + b;
    if (a instanceof PyTuple && b instanceof PyTuple) return PyTuple.fromItems([...a, ...b]);
    if (Array.isArray(a) && Array.isArray(b) && !(a instanceof PyTuple) && !(b instanceof PyTuple)) return [...a, ...b];
    return fail(`unsupported operand types for +: '${typeName(a)}' and '${typeName(b)}'`, line);
  }
  if (op === '*') {
    const [seq, n] = isInt(b) ? [a, Number(b)] : [b, Number(a)];
    if (isInt(a) || isInt(b)) {
      if (typeof seq === 'string') return seq.repeat(Math.max(0, n));
      if (Array.isArray(seq)) {
        const items = Array.from({ length: Math.max(0, n) }, () => seq).flat();
        return seq instanceof PyTuple ? PyTuple.fromItems(items) : items;
      }
    }
  }
  return fail(`unsupported operand types for ${op}: '${typeName(a)}' and '${typeName(b)}'`, line);
}

function compare(op: string, a: PyValue, b: PyValue, line: number): boolean {
  switch (op) {
    case '==':
      return pyEquals(a, b);
    case '!=':
      return !pyEquals(a, b);
    case 'in':
    case 'not in': {
      let found: boolean;
      if (typeof b === 'string') {
        if (typeof a !== 'string')
          return fail(`'in <string>' requires a string as left operand, not ${typeName(a)}`, line);
        found = b.includes(a);
      } else if (isDict(b)) found = typeof a === 'string' && a in b;
      else if (Array.isArray(b)) found = b.some((x) => pyEquals(a, x));
      else return fail(`argument of type '${typeName(b)}' is not iterable`, line);
      return op === 'in' ? found : !found;
    }
    case 'is':
    case 'is not': {
      const singletons = (v: PyValue): boolean => v === null || typeof v === 'boolean';
      if (!singletons(a) && !singletons(b))
        return fail(`unsupported Python construct: 'is' between two ${typeName(a)} values`, line);
      return op === 'is' ? a === b : a !== b;
    }
  }
  const order = ordering(a, b);
  if (order === undefined) return fail(`'${op}' not supported between '${typeName(a)}' and '${typeName(b)}'`, line);
  return op === '<' ? order < 0 : op === '>' ? order > 0 : op === '<=' ? order <= 0 : order >= 0;
}

function ordering(a: PyValue, b: PyValue): number | undefined {
  const num = (v: PyValue): number | undefined => (isInt(v) ? Number(v) : v instanceof PyFloat ? v.value : undefined);
  const x = num(a);
  const y = num(b);
  if (x !== undefined && y !== undefined) return x - y;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

function call(e: Extract<Expr, { type: 'call' }>, ns: Namespace): PyValue {
  const builtin = e.func.type === 'name' && !ns.locals.has(e.func.id) ? builtins.get(e.func.id) : undefined;
  if (builtin)
    return builtin(
      e.args.map((a) => evaluate(a, ns)),
      e.line,
    );
  if (e.func.type !== 'attribute') {
    return fail(
      `unsupported Python construct: call of ${show(e.func)}() (only methods of dicts and lists and ${[...builtins.keys()].join(', ')} are supported)`,
      e.line,
    );
  }
  const obj = evaluate(e.func.obj, ns);
  const args = e.args.map((a) => evaluate(a, ns));
  const method = e.func.name;
  const arity = (min: number, max: number): void => {
    if (args.length < min || args.length > max)
      fail(
        `${show(e.func)}() takes ${min === max ? min : `${min} to ${max}`} argument(s), ${args.length} given`,
        e.line,
      );
  };
  if (isDict(obj)) {
    const key = (): string => ns.key(obj, dictKey(args[0]!, e.line));
    switch (method) {
      case 'get':
        arity(1, 2);
        return key() in obj ? obj[key()]! : (args[1] ?? null);
      case 'setdefault':
        arity(1, 2);
        if (!(key() in obj)) obj[key()] = args[1] ?? null;
        return obj[key()]!;
      case 'update': {
        arity(1, 1);
        const other = args[0]!;
        if (!isDict(other))
          return fail(`${show(e.func)}() needs a dict in config files, not ${typeName(other)}`, e.line);
        for (const [k, v] of Object.entries(other)) obj[ns.key(obj, k)] = v;
        return null;
      }
      case 'pop': {
        arity(1, 2);
        const k = key();
        if (k in obj) {
          const v = obj[k]!;
          delete obj[k];
          return v;
        }
        if (args.length === 2) return args[1]!;
        return fail(`${show(e.func.obj)}[${pyRepr(args[0]!)}] is not set (KeyError)`, e.line);
      }
      case 'copy':
        arity(0, 0);
        return newDict(Object.entries(obj));
    }
  } else if (Array.isArray(obj) && !(obj instanceof PyTuple)) {
    switch (method) {
      case 'append':
        arity(1, 1);
        obj.push(args[0]!);
        return null;
      case 'extend':
        arity(1, 1);
        obj.push(...iterate(args[0]!, e.line));
        return null;
      case 'insert': {
        arity(2, 2);
        if (!isInt(args[0]!)) return fail(`${show(e.func)}(): the index must be an integer`, e.line);
        const i = Number(args[0]);
        const at = i < 0 ? Math.max(0, obj.length + i) : Math.min(i, obj.length);
        obj.splice(at, 0, args[1]!);
        return null;
      }
      case 'remove': {
        arity(1, 1);
        const at = obj.findIndex((x) => pyEquals(x, args[0]!));
        if (at < 0) return fail(`${show(e.func)}(x): x not in list (ValueError)`, e.line);
        obj.splice(at, 1);
        return null;
      }
      case 'copy':
        arity(0, 0);
        return [...obj];
    }
  }
  return fail(`unsupported Python construct: method ${typeName(obj)}.${method}() (${show(e.func)})`, e.line);
}
