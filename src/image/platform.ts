/**
 * rpm architecture names versus OCI platforms: picking the right entry of a
 * multi-arch index and refusing an image built for another machine.
 */
import { ExitCode, IsomockError } from '../errors.js';
import type { Descriptor, ImageConfig, Platform } from './manifest.js';

/** rpm arch -> OCI `architecture[/variant]`. */
const rpmToOci = new Map(
  Object.entries({
    x86_64: 'amd64',
    x86_64_v2: 'amd64/v2',
    x86_64_v3: 'amd64/v3',
    x86_64_v4: 'amd64/v4',
    aarch64: 'arm64',
    ppc64le: 'ppc64le',
    s390x: 's390x',
    i386: '386',
    i586: '386',
    i686: '386',
    armv7hl: 'arm/v7',
    armv7l: 'arm/v7',
    armv6hl: 'arm/v6',
    riscv64: 'riscv64',
    loongarch64: 'loong64',
  }).map(([rpm, oci]) => {
    const [architecture, variant] = oci.split('/') as [string, string | undefined];
    return [rpm, { architecture, ...(variant !== undefined && { variant }) }];
  }),
);

export function ociPlatform(rpmArch: string): Platform {
  const p = rpmToOci.get(rpmArch);
  if (!p) throw new IsomockError(`no OCI platform is known for architecture '${rpmArch}'`, ExitCode.arch);
  return { os: 'linux', ...p };
}

/** The rpm arch of this machine, from Node's name for it. */
export function hostRpmArch(): string {
  const map: Record<string, string> = {
    x64: 'x86_64',
    arm64: 'aarch64',
    ppc64: 'ppc64le',
    s390x: 's390x',
    ia32: 'i686',
    arm: 'armv7hl',
    riscv64: 'riscv64',
    loong64: 'loongarch64',
  };
  return map[process.arch] ?? process.arch;
}

function fits(have: Partial<Platform> | undefined, want: Platform): boolean {
  if (!have || have.os !== want.os || have.architecture !== want.architecture) return false;
  // An entry without a variant fits any variant; arm64's 'v8' is its only one.
  return want.variant === undefined || have.variant === undefined || have.variant === want.variant;
}

function describe(p: Partial<Platform> | undefined): string {
  return p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : 'no platform';
}

/** The index entry for `want`, preferring an exact variant match. */
export function selectFromIndex(where: string, manifests: Descriptor[], want: Platform): Descriptor {
  const candidates = manifests.filter((m) => fits(m.platform, want));
  const exact = candidates.find((m) => m.platform?.variant === want.variant);
  const chosen = exact ?? candidates[0];
  if (!chosen) {
    const offered = manifests.map((m) => describe(m.platform)).join(', ') || 'nothing';
    throw new IsomockError(
      `${where}: no image for ${describe(want)} in the index (it offers ${offered})`,
      ExitCode.bootstrap,
    );
  }
  return chosen;
}

/** Throw when an image's config says it runs elsewhere. */
export function checkConfigPlatform(where: string, config: ImageConfig, want: Platform): void {
  const have = {
    os: config.os ?? '',
    architecture: config.architecture ?? '',
    ...(config.variant !== undefined && { variant: config.variant }),
  };
  if (!fits(have, want)) {
    throw new IsomockError(`${where}: the image is for ${describe(have)}, not ${describe(want)}`, ExitCode.bootstrap);
  }
}
