/**
 * The spawns written in the source, found without running it, so that a code
 * path no test reaches is still checked: calls of child_process functions and
 * of the project's own runners (`run`, `exec`, `execStatus`) whose argument
 * vector starts with a string literal (or a const bound to one). Elements
 * only known at run time are undefined; a spread ends what is known. A
 * template literal after `-c` is kept as a script with its substitutions as
 * unknown words. Parses with the TypeScript compiler; spawns nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

export interface StaticSpawn {
  argv: Array<string | undefined>;
  /** Source file (relative to the scanned root) and line. */
  caller: string;
}

const runners = new Set(['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'execStatus', 'run']);
/** child_process's functions that take a shell command line. */
const shellRunners = new Set(['exec', 'execSync']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' || e.name === 'node_modules' ? [] : sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

function scanFile(file: string, root: string): StaticSpawn[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const constants = new Map<string, string>();
  const fromChildProcess = new Set<string>();
  const found: StaticSpawn[] = [];
  const text = (e: ts.Expression | undefined, script = false): string | undefined => {
    if (!e) return undefined;
    if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return e.text;
    if (ts.isIdentifier(e)) return constants.get(e.text);
    if (script && ts.isTemplateExpression(e)) {
      return e.head.text + e.templateSpans.map((s) => '${__runtime__}' + s.literal.text).join('');
    }
    return undefined;
  };
  const elements = (e: ts.Expression | undefined): Array<string | undefined> | undefined => {
    if (!e || !ts.isArrayLiteralExpression(e)) return undefined;
    const out: Array<string | undefined> = [];
    for (const el of e.elements) {
      if (ts.isSpreadElement(el)) return [...out, undefined];
      out.push(text(el, out.at(-1) === '-c'));
    }
    return out;
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const bindings = node.importClause?.namedBindings;
      if (node.moduleSpecifier.text === 'node:child_process' && bindings && ts.isNamedImports(bindings)) {
        for (const b of bindings.elements) fromChildProcess.add(b.name.text);
      }
    }
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
      const value = text(node.initializer);
      if (value !== undefined && ts.getCombinedNodeFlags(node) & ts.NodeFlags.Const)
        constants.set(node.name.text, value);
    }
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && runners.has(node.expression.text)) {
      const name = node.expression.text;
      const [first, second] = node.arguments;
      const head = text(first);
      let argv: Array<string | undefined> | undefined;
      if (head !== undefined && shellRunners.has(name) && fromChildProcess.has(name) && !elements(second)) {
        argv = ['/bin/sh', '-c', head];
      } else if (head !== undefined) {
        argv = [head, ...(elements(second) ?? (second ? [undefined] : []))];
      } else {
        argv = elements(first);
      }
      if (argv?.[0] !== undefined) {
        const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
        found.push({ argv, caller: `${relative(root, file)}:${line}` });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Every literal spawn under root's src/, world/, test/ and bench/. */
export function staticSpawns(root: string): StaticSpawn[] {
  return ['src', 'world', 'test', 'bench'].flatMap((d) => sourceFiles(join(root, d))).flatMap((f) => scanFile(f, root));
}
