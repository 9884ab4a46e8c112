/**
 * Mock's architecture rules. checkArchCombination() is Mock's
 * check_arch_combination(): a target the host cannot run natively (host_arch
 * not in legal_host_arches) gets forcearch, and %_platform_multiplier becomes
 * 10 under forcearch, else 1 (unless the config set it). runnable() is
 * where a build for such a target stops: isomock has no emulated builds yet,
 * so it refuses rather than build for the wrong arch; qemu-user-static
 * support goes into emulatorFor(). personalityMachine() is what uname -m says
 * once Mock has set the target's personality (setarch), which Mock's
 * --debug-config reflects.
 */
import { IsomockError, ExitCode } from '../errors.js';
import { isDict, pyStr, type PyDict, type PyValue } from '../python/value.js';
import { expandedOption } from './template.js';

export function checkArchCombination(config: PyDict): void {
  if (!('legal_host_arches' in config)) return;
  const legal = expandedOption(config, 'legal_host_arches');
  const host = expandedOption(config, 'host_arch');
  const listed = Array.isArray(legal) ? legal.map((a) => pyStr(a)) : typeof legal === 'string' ? [legal] : [];
  const contained =
    typeof legal === 'string' ? legal.includes(pyStr(host ?? null)) : listed.includes(pyStr(host ?? null));
  if (!contained && !expandedOption(config, 'forcearch'))
    config['forcearch'] = expandedOption(config, 'rpmbuild_arch') ?? null;
  const macros = expandedOption(config, 'macros');
  if (isDict(macros) && !('%_platform_multiplier' in macros))
    macros['%_platform_multiplier'] = expandedOption(config, 'forcearch') ? 10 : 1;
}

/** The emulator that runs `arch` on this host; none yet (the seam for qemu-user-static). */
function emulatorFor(_arch: string): string | undefined {
  return undefined;
}

/** The config, when this host can run its buildroot; else Mock's exit code for an impossible arch (6). */
export function runnable(config: PyDict): PyDict {
  const force: PyValue = expandedOption(config, 'forcearch') ?? null;
  if (!force) return config;
  const arch = pyStr(force);
  const host = pyStr(expandedOption(config, 'host_arch') ?? null);
  if (arch === host || emulatorFor(arch) !== undefined) return config;
  throw new IsomockError(
    `${pyStr(expandedOption(config, 'root') ?? null)}: cannot build for ${arch} on this ${host} host: ` +
      `it needs emulation (forcearch), which isomock does not support yet`,
    ExitCode.arch,
  );
}

/** Mock's personality table: the targets it runs under PER_LINUX32. */
const linux32 = new Set([
  'i386',
  'i586',
  'i686',
  'armv7',
  'armv7l',
  'armv7hl',
  'armv7hnl',
  'armv7hcnl',
  'armv7b',
  'armv7hb',
  'armv7hnb',
  'armv7hcnb',
  'armv8',
  'armv8l',
  'armv8hl',
  'armv8hnl',
  'armv8hcnl',
  'armv8b',
  'armv8hb',
  'armv8hnb',
  'armv8hcnb',
  'ppc',
  'sparc',
  'sparcv9',
  's390',
  'mips',
  'mipsel',
  'mipsr6',
  'mipsr6el',
  'riscv32',
]);

/** What the kernel reports as the machine under PER_LINUX32, for the 64-bit hosts that have one. */
const linux32Machine: Record<string, string> = { x86_64: 'i686', aarch64: 'armv8l', ppc64: 'ppc', s390x: 's390' };

export function personalityMachine(host: string, targetArch: string): string {
  return linux32.has(targetArch) ? (linux32Machine[host] ?? host) : host;
}
