/**
 * Simple dependencies (`name [op evr]`) and rpm's range matching: whether a
 * provide satisfies a requirement, as rpmdsCompare decides it in rpm 4.18.
 */
import { parseEvr, rpmvercmp, type Evr, type Ordering } from './version.js';

/** rpm's RPMSENSE_* comparison bits, as stored in the *FLAGS header tags. */
export const Sense = { less: 0x02, greater: 0x04, equal: 0x08 } as const;
const senseMask = Sense.less | Sense.greater | Sense.equal;

/** A dependency as rpm stores it: flags carry the comparison, evr is "" when unversioned. */
export interface Dependency {
  name: string;
  flags: number;
  evr: string;
}

// The spellings rpm accepts in spec files and rich dependencies.
const operators: Record<string, number> = {
  '<': Sense.less,
  '<=': Sense.less | Sense.equal,
  '=<': Sense.less | Sense.equal,
  '=': Sense.equal,
  '==': Sense.equal,
  '>': Sense.greater,
  '>=': Sense.greater | Sense.equal,
  '=>': Sense.greater | Sense.equal,
};

/** The sense bits of a comparison operator, or 0 if `op` is not one. */
export function parseOperator(op: string): number {
  return Object.hasOwn(operators, op) ? operators[op]! : 0;
}

/** The canonical spelling of the sense bits (rpm writes '<', '>', '=' in that order). */
export function formatOperator(flags: number): string {
  return (flags & Sense.less ? '<' : '') + (flags & Sense.greater ? '>' : '') + (flags & Sense.equal ? '=' : '');
}

/** `name`, or `name op evr` when versioned, as rpm prints a dependency. */
export function formatDependency(dep: Dependency): string {
  const op = formatOperator(dep.flags);
  return op && dep.evr ? `${dep.name} ${op} ${dep.evr}` : dep.name;
}

const epochValue = (e: string | null): number => (e ? parseInt(e, 10) || 0 : 0);

/**
 * Do the ranges `a fa` and `b fb` share a version? Unlike compareEvr, an
 * epoch given on one side only counts when it is above 0, and when just one
 * side has a release an '=' on the release-less side matches any release.
 */
function evrRangesOverlap(a: Evr, fa: number, b: Evr, fb: number): boolean {
  let order: Ordering = 0;
  if (a.epoch && b.epoch) order = rpmvercmp(a.epoch, b.epoch);
  else if (epochValue(a.epoch) > 0) order = 1;
  else if (epochValue(b.epoch) > 0) order = -1;
  if (order === 0) {
    order = rpmvercmp(a.version, b.version);
    if (order === 0) {
      if (a.release && b.release) order = rpmvercmp(a.release, b.release);
      else if ((a.release && fb & Sense.equal) || (b.release && fa & Sense.equal)) return true;
    }
  }
  if (order < 0) return Boolean(fa & Sense.greater || fb & Sense.less);
  if (order > 0) return Boolean(fa & Sense.less || fb & Sense.greater);
  return Boolean(fa & fb & senseMask);
}

/**
 * Does `provide` satisfy `require`? Same name, and either side unversioned
 * (no comparison or an empty EVR) matches any version of the other.
 */
export function dependencyMatches(provide: Dependency, require: Dependency): boolean {
  if (provide.name !== require.name) return false;
  if (!(provide.flags & senseMask && require.flags & senseMask)) return true;
  if (!provide.evr || !require.evr) return true;
  return evrRangesOverlap(parseEvr(provide.evr), provide.flags, parseEvr(require.evr), require.flags);
}
