/**
 * Python's glob patterns for one path component (fnmatch.translate, as
 * glob.glob applies it): `*`, `?`, `[...]` with `!` negation, a `[` without
 * its `]` taken literally; names starting with '.' match only a pattern that
 * does. Pure: matching only, no file system.
 */

/** Whether a component holds glob characters (Python's glob.has_magic). */
export function hasMagic(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

const escapeRe = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** fnmatch.translate: the pattern as an anchored RegExp (also dnf's repo-id matching). */
export function fnmatchRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, j);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      // Ranges stay ranges; every other character is literal inside the class.
      const cls = body.replace(/\\/g, '\\\\').replace(/[\]^[]/g, '\\$&');
      re += negate ? `[^${cls}]` : `[${cls}]`;
      i = j;
    } else re += escapeRe(c);
  }
  return new RegExp(`^(?:${re})$`, 's');
}

/** Whether one file name matches the pattern, hidden names as Python's glob treats them. */
export function fnmatch(name: string, pattern: string): boolean {
  if (name.startsWith('.') && !pattern.startsWith('.')) return false;
  return fnmatchRegExp(pattern).test(name);
}
