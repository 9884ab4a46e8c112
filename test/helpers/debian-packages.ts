/**
 * Which Debian package an executable comes from, and whether a fresh Debian 12
 * has it after scripts/setup: the package is listed in
 * scripts/system-packages.txt, or it is Essential, or its Priority is
 * required (what every minimal Debian 12 installs). Owners come from the dpkg
 * database (`dpkg-query -S`), asked once for all paths; a path is tried as
 * named, then along its symlinks to the real file, each also under its other
 * merged-/usr spelling (/bin/x is /usr/bin/x, and dpkg knows only the one
 * the package ships).
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Package names in a system-packages.txt (one a line, # comments), as scripts/setup reads it. */
export function declaredPackages(file: string): Set<string> {
  return new Set(
    readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
  );
}

const mergedDirs = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** The same file under the other merged-/usr name: /bin/x <-> /usr/bin/x. */
function twin(path: string): string | undefined {
  const m = /^\/(usr\/)?([^/]+)(\/.*)$/.exec(path);
  if (!m || !mergedDirs.includes(m[2]!)) return undefined;
  return m[1] ? `/${m[2]}${m[3]}` : `/usr/${m[2]}${m[3]}`;
}

/** The names dpkg may know a file by, in the order to ask: as named, each symlink hop, the real file. */
function candidates(path: string): string[] {
  const chain: string[] = [];
  let p = path;
  for (let hops = 0; hops < 40; hops++) {
    chain.push(p);
    try {
      if (!lstatSync(p).isSymbolicLink()) break;
      p = resolve(dirname(p), readlinkSync(p));
    } catch {
      break;
    }
  }
  try {
    chain.push(realpathSync(path));
  } catch {
    // A file gone since it ran: its names are all there is.
  }
  return [...new Set(chain.flatMap((c) => [c, twin(c)].filter((x): x is string => x !== undefined)))];
}

/** dpkg's patterns are globs; a path must match only itself. */
const escapeGlob = (path: string): string => path.replace(/[*?[\]\\]/g, '\\$&');

function dpkgQuery(args: string[]): string {
  const r = spawnSync('dpkg-query', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return r.stdout;
}

/** The packages owning each path (without architecture qualifiers); a path no package ships is absent. */
export function packageOwners(paths: Iterable<string>): Map<string, string[]> {
  const tries = new Map([...paths].map((p) => [p, candidates(p)]));
  const all = [...new Set([...tries.values()].flat())];
  const owned = new Map<string, string[]>();
  if (all.length === 0) return owned;
  // Exit 1 just means some path has no owner; "diversion by" lines are not ownership.
  for (const line of dpkgQuery(['-S', ...all.map(escapeGlob)]).split('\n')) {
    const sep = line.indexOf(': ');
    if (sep < 0 || line.startsWith('diversion by ')) continue;
    owned.set(
      line.slice(sep + 2),
      line
        .slice(0, sep)
        .split(', ')
        .map((p) => p.replace(/:.*$/, '')),
    );
  }
  const result = new Map<string, string[]>();
  for (const [path, names] of tries) {
    const first = names.find((n) => owned.has(n));
    if (first) result.set(path, owned.get(first)!);
  }
  return result;
}

/** The installed packages among names that every minimal Debian 12 has: Essential, or Priority required. */
export function basePackages(names: Iterable<string>): Set<string> {
  const list = [...new Set(names)];
  const base = new Set<string>();
  if (list.length === 0) return base;
  for (const line of dpkgQuery(['-W', '-f=${Package}\\t${Essential}\\t${Priority}\\n', ...list]).split('\n')) {
    const [name, essential, priority] = line.split('\t');
    if (name && (essential === 'yes' || priority === 'required')) base.add(name);
  }
  return base;
}
