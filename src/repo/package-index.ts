/**
 * Lookups over a repository's packages: by name, by NEVRA, by pkgid, and what
 * provides a capability or a file. Not a solver: it answers "which file is
 * NEVRA X, where is it, what must its digest be", and dnf resolves.
 */
import type { RepoPackage } from './package.js';
import { parseNevra } from '../rpm/nevra.js';

export class PackageIndex {
  private readonly names = new Map<string, RepoPackage[]>();
  // Most capabilities have one provider: keep it bare, not in a one-element array.
  private readonly providers = new Map<string, RepoPackage | RepoPackage[]>();
  private readonly ids = new Map<string, RepoPackage>();
  readonly packages: RepoPackage[] = [];

  add(pkg: RepoPackage): void {
    this.packages.push(pkg);
    push(this.names, pkg.name, pkg);
    this.ids.set(pkg.checksum.value, pkg);
    for (const provide of pkg.provides) this.addProvider(provide.name, pkg);
    for (const file of pkg.files) this.addProvider(file, pkg);
  }

  /** Adds files read from filelists to the package `pkgid`; false if no such package. */
  addFiles(pkgid: string, files: string[]): boolean {
    const pkg = this.ids.get(pkgid);
    if (!pkg) return false;
    const known = new Set(pkg.files);
    for (const file of files) {
      if (known.has(file)) continue;
      pkg.files.push(file);
      this.addProvider(file, pkg);
    }
    return true;
  }

  byName(name: string): readonly RepoPackage[] {
    return this.names.get(name) ?? [];
  }

  byPkgid(pkgid: string): RepoPackage | undefined {
    return this.ids.get(pkgid);
  }

  /** `name-[epoch:]version-release.arch`; without an epoch, any epoch matches (as in dnf). */
  byNevra(nevra: string): RepoPackage | undefined {
    const wanted = parseNevra(nevra);
    if (!wanted) return undefined;
    const anyEpoch = !nevra.includes(':');
    return this.byName(wanted.name).find(
      (pkg) =>
        pkg.version === wanted.version &&
        pkg.release === wanted.release &&
        pkg.arch === wanted.arch &&
        (anyEpoch || pkg.epoch === wanted.epoch),
    );
  }

  /** Packages that provide `what`: a capability name or a file path, unversioned. */
  whatProvides(what: string): readonly RepoPackage[] {
    const found = this.providers.get(what);
    return found === undefined ? [] : Array.isArray(found) ? found : [found];
  }

  private addProvider(what: string, pkg: RepoPackage): void {
    const found = this.providers.get(what);
    if (found === undefined) this.providers.set(what, pkg);
    else if (!Array.isArray(found)) {
      if (found !== pkg) this.providers.set(what, [found, pkg]);
    } else if (found[found.length - 1] !== pkg) found.push(pkg);
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (!list) map.set(key, [value]);
  else if (list[list.length - 1] !== value) list.push(value);
}
