/**
 * The package manager commands Mock runs, with Mock's paths, options and
 * fallback order (dnf5, then dnf4, then yum). dnf4 is what the tests exercise
 * (Debian ships dnf 4); dnf5 and yum follow Mock's documented command lines
 * and are untested here, since neither exists on Debian.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';

export type PackageManagerName = 'dnf4' | 'dnf5' | 'yum';

export interface PackageManager {
  name: PackageManagerName;
  /** Absolute path of the binary in the tree it runs from (bootstrap or host). */
  command: string;
  /** Options before the subcommand (dnf4, yum) or after its arguments (dnf5), as Mock places them. */
  commonOpts: string[];
  optsAfterArgs: boolean;
}

const commands: Record<PackageManagerName, string[]> = {
  dnf5: ['/usr/bin/dnf5'],
  dnf4: ['/usr/bin/dnf-3', '/usr/bin/dnf'],
  yum: ['/usr/bin/yum'],
};

const fallbackOrder: PackageManagerName[] = ['dnf5', 'dnf4', 'yum'];

/** Plugins Mock disables for dnf4 (Debian's `local` plugin would break every call). */
const dnf4DisabledPlugins = ['local', 'spacewalk', 'versionlock'];

export function normalizeName(configured: string): PackageManagerName {
  if (configured === 'dnf' || configured === 'dnf4') return 'dnf4';
  if (configured === 'dnf5' || configured === 'yum') return configured;
  throw new IsomockError(`package_manager '${configured}' is not supported (dnf, dnf4, dnf5, yum)`, ExitCode.config);
}

function commonOptions(name: PackageManagerName): string[] {
  switch (name) {
    case 'dnf4':
      return [
        '--setopt=deltarpm=False',
        '--setopt=allow_vendor_change=yes',
        '--allowerasing',
        ...dnf4DisabledPlugins.map((p) => `--disableplugin=${p}`),
      ];
    case 'dnf5':
      return ['--setopt=allow_vendor_change=yes', '--allowerasing'];
    case 'yum':
      return [];
  }
}

/**
 * Picks the package manager found in tree (a bootstrap, or '/' for the host):
 * the configured one when present, else the first of Mock's fallback order.
 */
export function findPackageManager(configured: string, tree: string): PackageManager {
  const wanted = normalizeName(configured);
  for (const name of [wanted, ...fallbackOrder.filter((n) => n !== wanted)]) {
    const command = commands[name].find((c) => existsSync(join(tree, c)));
    if (command) return { name, command, commonOpts: commonOptions(name), optsAfterArgs: name === 'dnf5' };
  }
  throw new IsomockError(
    `no package manager in ${tree}: looked for ${fallbackOrder.flatMap((n) => commands[n]).join(', ')}`,
    ExitCode.packageManager,
  );
}

export interface PmInvocation {
  installroot: string;
  configFile: string;
  releasever?: string;
  offline: boolean;
  /** --enablerepo/--disablerepo, in command-line order. */
  repoToggles: string[];
}

/** argv for `<pm> --installroot R ... <subcommand> <args>`, ordered as Mock orders it. */
export function pmArgv(pm: PackageManager, inv: PmInvocation, subcommand: string[]): string[] {
  const base = [
    pm.command,
    `--installroot=${inv.installroot}`,
    `--config=${inv.configFile}`,
    '-y',
    ...(inv.releasever ? [`--releasever=${inv.releasever}`] : []),
    ...(inv.offline ? ['-C'] : []),
    ...inv.repoToggles,
  ];
  if (pm.optsAfterArgs) return [...base, ...subcommand, ...pm.commonOpts];
  return [...base, ...pm.commonOpts, ...subcommand];
}
