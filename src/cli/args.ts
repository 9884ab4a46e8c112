/**
 * A small command-line parser for Mock's grammar. Node's parseArgs cannot take
 * an option with two values (`--isolated-build LOCKFILE REPO`), and Mock lets
 * options appear anywhere, before or after the SRPM, so the grammar is a table.
 */
import { CommandLineError, ExitCode, IsomockError } from '../errors.js';

export interface OptionSpec {
  /** Every spelling, e.g. ['-r', '--root']. The first long one names the key. */
  names: string[];
  /** How many values follow the option (0 = a flag). */
  arity: 0 | 1 | 2;
  /** Further optional values taken while they do not look like options (Mock's `nargs` ranges). */
  optional?: number;
  /** Values accumulate instead of the last one winning. */
  repeat?: boolean;
  /** The option selects what isomock does (Mock's "modes"); modes exclude each other. */
  mode?: boolean;
  /** A Mock option isomock refuses: one line, exit 5. */
  unsupported?: boolean;
  /** Value names for --help, one per value. */
  metavar?: string[];
  help: string;
}

type OptionValue = boolean | string | string[] | string[][];

export interface ParsedArgs {
  /** Key of the mode option given (e.g. 'rebuild'), or undefined for the default. */
  mode?: string;
  options: Map<string, OptionValue>;
  positionals: string[];
}

function optionKey(spec: OptionSpec): string {
  const long = spec.names.find((n) => n.startsWith('--')) ?? spec.names[0]!;
  return long.replace(/^-+/, '');
}

function lookup(table: OptionSpec[]): Map<string, OptionSpec> {
  const byName = new Map<string, OptionSpec>();
  for (const spec of table) for (const name of spec.names) byName.set(name, spec);
  return byName;
}

export function parseArgs(argv: string[], table: OptionSpec[]): ParsedArgs {
  const byName = lookup(table);
  const result: ParsedArgs = { options: new Map(), positionals: [] };
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i++]!;
    if (arg === '--') {
      result.positionals.push(...argv.slice(i));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      result.positionals.push(arg);
      continue;
    }
    // `--name=value` and the short form `-rVALUE` (as Python's argparse accepts).
    let name = arg;
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      name = arg.slice(0, eq);
      inline = arg.slice(eq + 1);
    } else if (!arg.startsWith('--') && arg.length > 2 && !byName.has(arg)) {
      name = arg.slice(0, 2);
      inline = arg.slice(2);
    }
    const spec = byName.get(name);
    if (!spec) throw new CommandLineError(`unrecognized option: ${name}`);
    if (spec.unsupported) throw new IsomockError(`${name} is not supported by isomock`, ExitCode.badCmdline);
    const key = optionKey(spec);
    const values: string[] = [];
    if (inline !== undefined) {
      if (spec.arity === 0) throw new CommandLineError(`option ${name} takes no value`);
      values.push(inline);
    }
    while (values.length < spec.arity) {
      const next = argv[i++];
      if (next === undefined) {
        const want = spec.metavar?.join(' ') ?? 'a value';
        throw new CommandLineError(`option ${name} expects ${want}`);
      }
      values.push(next);
    }
    for (let extra = 0; extra < (spec.optional ?? 0) && i < argv.length && !argv[i]!.startsWith('-'); extra++) {
      values.push(argv[i++]!);
    }
    if (spec.mode) {
      if (result.mode !== undefined && result.mode !== key) {
        throw new CommandLineError(`options --${result.mode} and ${name} cannot be used together`);
      }
      result.mode = key;
    }
    store(result.options, key, spec, values);
  }
  return result;
}

function store(options: Map<string, OptionValue>, key: string, spec: OptionSpec, values: string[]): void {
  if (spec.arity === 0) {
    options.set(key, true);
    return;
  }
  const value = spec.arity === 1 && !spec.optional ? values[0]! : values;
  if (!spec.repeat) {
    options.set(key, value);
    return;
  }
  const list = (options.get(key) as (string | string[])[] | undefined) ?? [];
  list.push(value);
  options.set(key, list as OptionValue);
}

/** Typed accessors, so commands do not cast. */
export function flag(args: ParsedArgs, key: string): boolean {
  return args.options.get(key) === true;
}

export function str(args: ParsedArgs, key: string): string | undefined {
  const v = args.options.get(key);
  return typeof v === 'string' ? v : undefined;
}

export function list(args: ParsedArgs, key: string): string[] {
  const v = args.options.get(key);
  return Array.isArray(v) ? (v as string[]) : [];
}

export function pair(args: ParsedArgs, key: string): [string, string] | undefined {
  const v = args.options.get(key);
  return Array.isArray(v) && v.length === 2 ? [v[0] as string, v[1] as string] : undefined;
}

/** Renders an option table the way argparse lays out Mock's --help. */
export function formatOptions(table: OptionSpec[]): string {
  const rows = table.map((spec) => {
    const meta = spec.metavar?.join(' ');
    const names = spec.names.map((n) => (meta ? `${n} ${meta}` : n)).join(', ');
    return [names, spec.help] as const;
  });
  const width = Math.min(34, Math.max(...rows.map(([n]) => n.length)) + 2);
  return rows
    .map(([names, help]) =>
      names.length + 2 > width ? `  ${names}\n  ${' '.repeat(width)}${help}` : `  ${names.padEnd(width)}${help}`,
    )
    .join('\n');
}
