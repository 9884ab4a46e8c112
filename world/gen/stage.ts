/**
 * Lays out the files of several world packages in one staging tree (the
 * buildroot their spec's %install copies), and records what each package
 * lists in %files.
 */
import { copyFile, lstat, mkdir, readlink, symlink, writeFile, chmod } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { IsomockError } from '../../src/errors.js';
import { debianToEvr, foldIntoUsr, type Evr } from './debian.js';
import { inParallel } from './exec.js';
import type { PackageDef } from './model.js';

export interface FileEntry {
  path: string;
  kind: 'file' | 'link' | 'dir';
  mode?: number;
  config: boolean;
}

export interface StagedPackage {
  def: PackageDef;
  evr: Evr;
  entries: FileEntry[];
}

/** What the host knows about Debian packages: versions and folded-or-not paths. */
export interface DebianHost {
  versions: Map<string, string>;
  files: Map<string, string[]>;
}

function evrOf(def: PackageDef, host: DebianHost): Evr {
  if (!def.debian) {
    if (!def.version || !def.release) throw new IsomockError(`world: package ${def.name} has no version`);
    return { epoch: def.epoch, version: def.version, release: def.release };
  }
  const deb = def.debian.versionFrom ?? def.debian.debs[0]!;
  return debianToEvr(host.versions.get(deb)!);
}

/** rpm's ELF dependency generator only reads executable files; Debian ships libraries 0644. */
function wantedMode(path: string, mode: number): number {
  return /\.so(\.|$)/.test(basename(path)) ? mode | 0o755 : mode;
}

async function stageHostPath(hostPath: string, target: string): Promise<FileEntry['kind'] | undefined> {
  const st = await lstat(hostPath);
  if (st.isDirectory()) return undefined;
  await mkdir(dirname(target), { recursive: true });
  if (st.isSymbolicLink()) {
    await symlink(await readlink(hostPath), target);
    return 'link';
  }
  await copyFile(hostPath, target, constants.COPYFILE_FICLONE);
  await chmod(target, wantedMode(hostPath, st.mode & 0o7777));
  return 'file';
}

/** Stages every package into stageDir; a path is owned by the first package that lists it. */
export async function stagePackages(defs: PackageDef[], stageDir: string, host: DebianHost): Promise<StagedPackage[]> {
  const owned = new Set<string>();
  const staged: StagedPackage[] = [];
  for (const def of defs) {
    const entries: FileEntry[] = [];
    const config = new Set(def.config ?? []);
    const claim = (path: string): boolean => {
      if (owned.has(path)) return false;
      owned.add(path);
      return true;
    };
    for (const [path, mode] of def.dirs ?? []) {
      if (!claim(path)) continue;
      await mkdir(join(stageDir, path), { recursive: true });
      entries.push({ path, kind: 'dir', mode, config: false });
    }
    for (const [path, text] of Object.entries(def.files ?? {})) {
      if (!claim(path)) continue;
      const target = join(stageDir, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, text, { mode: /\/s?bin\//.test(path) ? 0o755 : 0o644 });
      entries.push({ path, kind: 'file', config: config.has(path) });
    }
    for (const [path, linkTarget] of Object.entries(def.symlinks ?? {})) {
      if (!claim(path)) continue;
      await mkdir(dirname(join(stageDir, path)), { recursive: true });
      await symlink(linkTarget, join(stageDir, path));
      entries.push({ path, kind: 'link', config: false });
    }
    if (def.debian) {
      const { only, skip } = def.debian;
      const wanted: Array<[host: string, path: string]> = [];
      for (const deb of def.debian.debs) {
        for (const hostPath of host.files.get(deb) ?? []) {
          const path = foldIntoUsr(hostPath);
          if (only && !only.test(path)) continue;
          if (skip?.test(path)) continue;
          if (claim(path)) wanted.push([hostPath, path]);
        }
      }
      const kinds = await inParallel(
        16,
        wanted.map(
          ([hostPath, path]) =>
            () =>
              stageHostPath(hostPath, join(stageDir, path)),
        ),
      );
      wanted.forEach(([, path], i) => {
        const kind = kinds[i];
        if (kind) entries.push({ path, kind, config: path.startsWith('/etc/') });
        else owned.delete(path);
      });
    }
    staged.push({ def, evr: evrOf(def, host), entries });
  }
  return staged;
}
