/**
 * Jinja expansion of option values, as Mock's TemplatedDictionary does it:
 * a string is rendered with the raw options as variables, again and again
 * until it stops changing (at most `jinja_max_recursion` times, default 5);
 * lists and dicts are expanded element by element in place; tuples and other
 * values are left alone.
 *
 * nunjucks is the Jinja engine. Two things make it print what Jinja prints:
 * its Jinja compatibility layer (True/False/None, slices, Python methods), and
 * a formatter that writes values as Python's str() does (`True`, `None`,
 * `['a', 'b']`) while a config template is being rendered. Lookups of
 * `constructor` and `_private` members are refused, as Jinja's sandbox does,
 * so a template cannot reach JavaScript's Function constructor.
 */
import nunjucks from 'nunjucks';
import { isDict, newDict, PyFloat, pyStr, PyTuple, type PyDict, type PyValue } from '../python/value.js';
import { configError } from './source.js';

nunjucks.installJinjaCompat();
const env = new nunjucks.Environment(null, { autoescape: false });

type Lookup = (obj: unknown, key: unknown, ...rest: unknown[]) => unknown;
const runtime = nunjucks.runtime as unknown as {
  suppressValue: (v: unknown, esc: boolean) => unknown;
  memberLookup: Lookup;
};
let rendering = 0;

const originalSuppress = runtime.suppressValue;
runtime.suppressValue = (v, esc) =>
  rendering > 0 && v !== undefined ? pyStr(fromTemplate(v)) : originalSuppress(v, esc);

const originalLookup = runtime.memberLookup;
runtime.memberLookup = function (this: unknown, obj, key, ...rest) {
  if (rendering > 0 && typeof key === 'string' && (key === 'constructor' || key.startsWith('_'))) {
    const own = typeof obj === 'object' && obj !== null && Object.prototype.hasOwnProperty.call(obj, key);
    if (!own) return undefined;
  }
  return originalLookup.call(this, obj, key, ...rest);
};

/** Values a template computed (JS numbers, arrays, objects) seen as Python values. */
function fromTemplate(v: unknown): PyValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isInteger(v) ? v : new PyFloat(v);
  if (typeof v === 'string' || typeof v === 'boolean' || v instanceof PyFloat) return v;
  if (v instanceof PyTuple) return v;
  if (Array.isArray(v)) return v.map(fromTemplate);
  if (isDict(v)) return v;
  if (typeof v === 'object' && v.constructor === Object) {
    return newDict(Object.entries(v).map(([k, x]) => [k, fromTemplate(x)]));
  }
  return String(v);
}

/** Compiled templates by text: Mock's configs repeat the same few hundred strings in every config. */
const compiled = new Map<string, nunjucks.Template>();

function renderString(template: string, context: PyDict, key: string): string {
  // Without a '{' there is no tag: the text renders as itself.
  if (!template.includes('{')) return template;
  rendering++;
  try {
    let t = compiled.get(template);
    if (!t) compiled.set(template, (t = new nunjucks.Template(template, env, undefined, true)));
    return t.render(context);
  } catch (err) {
    const reason = (err as Error).message
      .replace(/^\(unknown path\)\s*/, '')
      .replace(/\s+/g, ' ')
      .trim();
    throw configError(`config_opts['${key}']: cannot expand its Jinja template: ${reason}`);
  } finally {
    rendering--;
  }
}

function maxRecursion(context: PyDict): number {
  const n = context['jinja_max_recursion'];
  return typeof n === 'number' ? n : 5;
}

/** Expands a string until it is stable, as TemplatedDictionary.__render_string does. */
export function expandString(value: string, context: PyDict, key: string): string {
  let last = value;
  for (let i = 0; i < maxRecursion(context); i++) {
    const next = renderString(last, context, key);
    if (next === last) return next;
    last = next;
  }
  throw configError(`config_opts['${key}']: too deep Jinja re-evaluation of ${JSON.stringify(value.slice(0, 200))}`);
}

/** The expanded form of a value; lists and dicts are expanded in place, like Mock. */
export function expandValue(value: PyValue, context: PyDict, key: string): PyValue {
  if (typeof value === 'string') return expandString(value, context, key);
  if (value instanceof PyTuple) return value;
  if (Array.isArray(value)) {
    value.forEach((item, i) => (value[i] = expandValue(item, context, key)));
    return value;
  }
  if (isDict(value)) {
    for (const k of Object.keys(value)) value[k] = expandValue(value[k]!, context, key);
    return value;
  }
  return value;
}

/** Reads an option the way Mock reads it once templating is on. */
export function expandedOption(config: PyDict, key: string): PyValue | undefined {
  return key in config ? expandValue(config[key]!, config, key) : undefined;
}
