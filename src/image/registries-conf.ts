/**
 * registries.conf (containers-registries.conf(5), version 2) and its drop-in
 * directory: where podman and skopeo users already keep insecure registries,
 * mirrors and short-name aliases, so isomock reads the same files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { ExitCode, IsomockError } from '../errors.js';
import { isShortName, parseReference, splitReference, type ImageReference } from './reference.js';

interface Endpoint {
  /** Registry host (with port) and optional path prefix that replaces the matched prefix. */
  location: string;
  insecure: boolean;
}

export interface RegistryEntry extends Endpoint {
  /** `host[/path]` this entry applies to (containers' `prefix`, defaulting to `location`). */
  prefix: string;
  blocked: boolean;
  mirrors: Endpoint[];
}

export interface RegistriesConf {
  unqualifiedSearch: string[];
  aliases: Map<string, string>;
  registries: RegistryEntry[];
}

const systemRegistriesConf = '/etc/containers/registries.conf';

function emptyRegistriesConf(): RegistriesConf {
  return { unqualifiedSearch: [], aliases: new Map(), registries: [] };
}

function confError(file: string, why: string): IsomockError {
  return new IsomockError(`${file}: ${why}`, ExitCode.config);
}

function readToml(file: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw confError(file, `cannot read: ${(err as Error).message}`);
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    const line = err instanceof TomlError ? ` (line ${err.line})` : '';
    throw confError(file, `not valid TOML${line}: ${(err as Error).message.split('\n')[0]}`);
  }
}

function endpoint(file: string, raw: unknown, what: string): Endpoint {
  if (typeof raw !== 'object' || raw === null) throw confError(file, `${what} must be a table`);
  const t = raw as Record<string, unknown>;
  if (typeof t.location !== 'string' && t.location !== undefined)
    throw confError(file, `${what}.location must be a string`);
  if (t.insecure !== undefined && typeof t.insecure !== 'boolean')
    throw confError(file, `${what}.insecure must be true or false`);
  return { location: (t.location as string | undefined) ?? '', insecure: t.insecure === true };
}

/** Fold one file into `conf`; later files override earlier ones as podman does. */
function mergeFile(conf: RegistriesConf, file: string, data: Record<string, unknown>): void {
  const search = data['unqualified-search-registries'];
  if (search !== undefined) {
    if (!Array.isArray(search) || !search.every((s) => typeof s === 'string')) {
      throw confError(file, 'unqualified-search-registries must be a list of strings');
    }
    conf.unqualifiedSearch = search as string[];
  }
  const aliases = data.aliases;
  if (aliases !== undefined) {
    if (typeof aliases !== 'object' || aliases === null) throw confError(file, '[aliases] must be a table');
    for (const [name, target] of Object.entries(aliases)) {
      if (typeof target !== 'string') throw confError(file, `alias '${name}' must be a string`);
      conf.aliases.set(name, target);
    }
  }
  const regs = data.registry;
  if (regs === undefined) return;
  if (!Array.isArray(regs)) throw confError(file, '[[registry]] must be an array of tables');
  regs.forEach((raw, i) => {
    const base = endpoint(file, raw, `registry #${i + 1}`);
    const t = raw as Record<string, unknown>;
    const prefix = typeof t.prefix === 'string' && t.prefix !== '' ? t.prefix : base.location;
    if (prefix === '') throw confError(file, `registry #${i + 1} has neither prefix nor location`);
    const mirrors =
      t.mirror === undefined
        ? []
        : (Array.isArray(t.mirror) ? t.mirror : [t.mirror]).map((m, j) =>
            endpoint(file, m, `registry #${i + 1} mirror #${j + 1}`),
          );
    const entry: RegistryEntry = {
      prefix,
      location: base.location === '' ? prefix : base.location,
      insecure: base.insecure,
      blocked: t.blocked === true,
      mirrors,
    };
    conf.registries = conf.registries.filter((r) => r.prefix !== prefix).concat(entry);
  });
}

/**
 * Read `main` and then every `*.conf` in `main + '.d'` in name order, as
 * containers/image does; missing files are simply absent.
 */
export function loadRegistriesConf(
  main = process.env.CONTAINERS_REGISTRIES_CONF ?? systemRegistriesConf,
): RegistriesConf {
  const conf = emptyRegistriesConf();
  const data = readToml(main);
  if (data) mergeFile(conf, main, data);
  const dropins = `${main}.d`;
  let names: string[] = [];
  try {
    names = readdirSync(dropins)
      .filter((n) => n.endsWith('.conf'))
      .sort();
  } catch {
    // no drop-in directory
  }
  for (const name of names) {
    const file = join(dropins, name);
    const d = readToml(file);
    if (d) mergeFile(conf, file, d);
  }
  return conf;
}

/** The entry whose prefix matches `ref` most specifically, if any. */
export function findRegistry(conf: RegistriesConf, ref: ImageReference): RegistryEntry | undefined {
  const full = `${ref.registry}/${ref.repository}`;
  let best: RegistryEntry | undefined;
  for (const r of conf.registries) {
    const matches =
      full === r.prefix ||
      full.startsWith(`${r.prefix}/`) ||
      (r.prefix.startsWith('*.') && ref.registry.endsWith(r.prefix.slice(1)));
    if (matches && (!best || r.prefix.length > best.prefix.length)) best = r;
  }
  return best;
}

/**
 * The fully qualified candidates for a reference, in the order podman tries
 * them: an alias wins; otherwise each unqualified-search registry.
 */
export function resolveShortName(conf: RegistriesConf, text: string): ImageReference[] {
  if (!isShortName(text)) return [parseReference(text)];
  const { name, tag, digest } = splitReference(text);
  const suffix = (tag !== undefined ? `:${tag}` : '') + (digest !== undefined ? `@${digest}` : '');
  const alias = conf.aliases.get(name);
  if (alias !== undefined) return [parseReference(alias + suffix)];
  if (conf.unqualifiedSearch.length === 0) {
    throw new IsomockError(
      `short image name '${text}' cannot be resolved: no alias and no unqualified-search-registries in registries.conf`,
      ExitCode.config,
    );
  }
  return conf.unqualifiedSearch.map((registry) => parseReference(text, registry));
}
