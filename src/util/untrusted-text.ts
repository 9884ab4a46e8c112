/**
 * Checks for text that comes from data nobody vouches for (a lockfile, the
 * isomock record, a package header) before it reaches a file name, a config
 * file or a host tool. Each returns the reason the text is refused, or
 * undefined when it is acceptable; callers name the field and the file.
 */
import { posix } from 'node:path';

/** Control characters other than tab: a newline ends a line of .rpmmacros or dnf.conf and starts another. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controlRe = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** Where Jinja (nunjucks) would find a template: data must never be expanded as one. */
const templateRe = /\{[{%#]/;

/** The rpm macros whose values isomock's host side uses as paths (rpm --dbpath; mkdir and chown of the build tree). */
export const hostPathMacros: readonly string[] = ['%_dbpath', '%_topdir'];

/** A line of a config file: no control character, no Jinja template. */
export function badLineText(text: string): string | undefined {
  if (controlRe.test(text)) return 'holds a newline, NUL or other control character';
  if (templateRe.test(text)) return 'holds a Jinja template ({{, {% or {#)';
  return undefined;
}

/**
 * A path the host itself uses (mkdir, chown, rpm --dbpath): absolute and
 * already normalized, so it has no `.`, `..` or `//`; no `%` (rpm would expand
 * a macro, `%(...)` runs a command) and nothing but printable characters.
 */
export function badHostPath(path: string): string | undefined {
  if (controlRe.test(path) || path.includes('\t')) return 'holds a control character';
  if (!path.startsWith('/')) return 'is not absolute';
  if (path.includes('%')) return 'holds a % (rpm would expand it as a macro)';
  if (path.split('/').includes('..') || posix.normalize(path) !== path || (path.length > 1 && path.endsWith('/')))
    return 'is not a normalized path (no ., .., // or trailing /)';
  return undefined;
}

/**
 * One component of a file name (a package name, version, release, arch):
 * no `/`, no whitespace or control character, not `.` or `..`, and no
 * leading `-` (it could be read as an option when it reaches an argv).
 */
export function badNameComponent(text: string): string | undefined {
  if (text === '') return 'is empty';
  if (text === '.' || text === '..') return `is ${text}`;
  if (text.includes('/')) return 'holds a /';
  if (/\s/.test(text) || controlRe.test(text)) return 'holds whitespace or a control character';
  if (text.startsWith('-')) return 'starts with -';
  return undefined;
}

/** An http(s) URL, parsed; the reason otherwise. */
export function badHttpUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'is not http(s)';
  return controlRe.test(text) ? 'holds a control character' : undefined;
}
