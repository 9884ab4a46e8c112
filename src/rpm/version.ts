/**
 * rpm's version ordering: rpmvercmp on version/release strings, and
 * [epoch:]version[-release] (EVR) parsing and comparison, with the exact
 * semantics of rpm 4.18 (librpmio's rpmvercmp, rpmverParse, rpmverCmp).
 */

export type Ordering = -1 | 0 | 1;

// rpm classifies characters by ASCII only: every other byte is a separator.
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isAlpha = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

/** Index of the first character at or after `i` that is not a separator. */
function skipSeparators(s: string, i: number): number {
  while (i < s.length && !isDigit(s[i]!) && !isAlpha(s[i]!) && s[i] !== '~' && s[i] !== '^') i++;
  return i;
}

/** The run of digits (or of letters) starting at `i`. */
function segmentAt(s: string, i: number, numeric: boolean): string {
  const same = numeric ? isDigit : isAlpha;
  let end = i;
  while (end < s.length && same(s[end]!)) end++;
  return s.slice(i, end);
}

const sign = (n: number): Ordering => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** Numbers compare by value whatever their length, so leading zeros do not count. */
function compareNumbers(a: string, b: string): Ordering {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return sign(x.length - y.length);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Compare two version (or release) strings segment by segment as rpm does:
 * `~` sorts before anything (even the end), `^` after the end but before any
 * other segment, numeric segments beat alphabetic ones.
 */
export function rpmvercmp(a: string, b: string): Ordering {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    i = skipSeparators(a, i);
    j = skipSeparators(b, j);
    const ca = a[i] ?? '';
    const cb = b[j] ?? '';
    if (ca === '~' || cb === '~') {
      if (ca !== '~') return 1;
      if (cb !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (ca === '^' || cb === '^') {
      if (ca === '') return -1;
      if (cb === '') return 1;
      if (ca !== '^') return 1;
      if (cb !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (ca === '' || cb === '') break;
    const numeric = isDigit(ca);
    const sa = segmentAt(a, i, numeric);
    const sb = segmentAt(b, j, numeric);
    // Segments of different kinds: the numeric one is newer.
    if (sb === '') return numeric ? 1 : -1;
    const order = numeric ? compareNumbers(sa, sb) : sa < sb ? -1 : sa > sb ? 1 : 0;
    if (order !== 0) return order;
    i += sa.length;
    j += sb.length;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** An EVR split as rpm splits it; absent parts are null (not "0" or ""). */
export interface Evr {
  epoch: string | null;
  version: string;
  release: string | null;
}

/**
 * Split `[epoch:]version[-release]`: the epoch is a leading run of digits
 * ended by ':' (an empty one means 0), the release follows the LAST '-'.
 */
export function parseEvr(evr: string): Evr {
  let s = 0;
  while (s < evr.length && isDigit(evr[s]!)) s++;
  const hasEpoch = evr[s] === ':';
  const dash = evr.lastIndexOf('-');
  const versionStart = hasEpoch ? s + 1 : 0;
  const hasRelease = dash >= s;
  return {
    epoch: hasEpoch ? evr.slice(0, s) || '0' : null,
    version: evr.slice(versionStart, hasRelease ? dash : undefined),
    release: hasRelease ? evr.slice(dash + 1) : null,
  };
}

/** The EVR back as text, the epoch only when present. */
export function formatEvr(evr: Evr): string {
  const epoch = evr.epoch === null ? '' : `${evr.epoch}:`;
  const release = evr.release === null ? '' : `-${evr.release}`;
  return `${epoch}${evr.version}${release}`;
}

function comparePresent(a: string | null, b: string | null): Ordering {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  return rpmvercmp(a, b);
}

/**
 * Total order of EVRs (rpm's rpmverCmp, what `rpm.vercmp` and package
 * updates use): a missing epoch is 0, a missing release sorts before any.
 * Dependency ranges are looser about releases: see evrRangesOverlap.
 */
export function compareEvr(a: Evr | string, b: Evr | string): Ordering {
  const x = typeof a === 'string' ? parseEvr(a) : a;
  const y = typeof b === 'string' ? parseEvr(b) : b;
  return (
    rpmvercmp(x.epoch ?? '0', y.epoch ?? '0') || rpmvercmp(x.version, y.version) || comparePresent(x.release, y.release)
  );
}
