/**
 * Reading one config file the way Mock does: `include('path')` lines are
 * replaced by the included text (recursively, paths relative to the config
 * directory, a file already included is skipped with a warning), then the
 * whole text runs as one program. Every line remembers its file and line
 * number so errors point at the real place.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import { SourceError } from '../python/lexer.js';
import { parseExpression, parseProgram } from '../python/parser.js';
import { evaluate, execute, Namespace } from '../python/exec.js';
import type { PyDict } from '../python/value.js';

interface Origin {
  file: string;
  line: number;
}

export interface ExpandedSource {
  text: string;
  /** origins[i] is where line i of text comes from (line numbers are 1-based). */
  origins: Origin[];
  /** Every file read, in order. */
  files: string[];
  warnings: string[];
}

const includeLine = /^\s*include\((.*)\)/;

export function configError(message: string): IsomockError {
  return new IsomockError(message, ExitCode.config);
}

function where(o: Origin): string {
  return `${o.file}:${o.line}`;
}

/** Reads one config file as text; throws (an IsomockError, or a system error with its code) when it cannot. */
export type ConfigReader = (path: string) => string;

const readAsRoot: ConfigReader = (path) => readFileSync(path, 'utf8');

function expandIncludes(file: string, configDir: string, read: ConfigReader): ExpandedSource {
  const out: ExpandedSource = { text: '', origins: [], files: [], warnings: [] };
  const lines: string[] = [];
  const seen = new Set<string>();
  const visit = (path: string, from: Origin | undefined): void => {
    const abs = resolve(path);
    if (seen.has(abs)) {
      out.warnings.push(`${from ? where(from) : abs}: multiple inclusion of ${abs}, skipping`);
      return;
    }
    let content: string;
    try {
      content = read(abs);
    } catch (err) {
      if (err instanceof IsomockError) throw configError(from ? `${where(from)}: ${err.message}` : err.message);
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
      throw configError(
        from
          ? `${where(from)}: could not find included config file ${abs} (${reason})`
          : `cannot read config file ${abs}: ${reason}`,
      );
    }
    seen.add(abs);
    out.files.push(abs);
    content.split('\n').forEach((text, i) => {
      const origin = { file: abs, line: i + 1 };
      const m = includeLine.exec(text);
      if (!m) {
        lines.push(text);
        out.origins.push(origin);
        return;
      }
      visit(includeTarget(m[1]!, origin, configDir), origin);
      // Whatever followed the call on its line (a comment, usually) stays in place.
      const rest = text.slice(m[0].length);
      if (rest.trim() !== '') {
        lines.push(rest);
        out.origins.push(origin);
      }
    });
  };
  visit(file, undefined);
  out.text = lines.join('\n');
  return out;
}

function includeTarget(argument: string, origin: Origin, configDir: string): string {
  let value;
  try {
    value = evaluate(parseExpression(argument), new Namespace(Object.create(null) as PyDict));
  } catch (err) {
    if (err instanceof SourceError)
      throw configError(`${where(origin)}: include() needs a quoted path: ${err.message}`);
    throw err;
  }
  if (typeof value !== 'string') throw configError(`${where(origin)}: include() needs a string path`);
  return isAbsolute(value) ? value : join(configDir, value);
}

/** Runs a config file (and its includes) against the options dictionary. */
export function runConfigFile(
  root: PyDict,
  file: string,
  configDir: string,
  read: ConfigReader = readAsRoot,
): ExpandedSource {
  const source = expandIncludes(file, configDir, read);
  try {
    execute(parseProgram(source.text), new Namespace(root));
  } catch (err) {
    if (err instanceof SourceError) {
      const origin = source.origins[Math.min(err.line, source.origins.length - 1)] ?? { file, line: err.line + 1 };
      throw configError(`${where(origin)}: ${err.message}`);
    }
    throw err;
  }
  return source;
}
