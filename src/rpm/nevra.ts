/**
 * Package identities as text: `name-[epoch:]version-release.arch`, the form
 * rpm and dnf print and rpm file names carry. Pure functions, no I/O.
 */

/** The five fields that name one package build; an absent epoch is null or '0'. */
export interface Nevra {
  name: string;
  epoch: string | null;
  version: string;
  release: string;
  arch: string;
}

/** `name-[epoch:]version-release.arch`, the epoch shown only when it is not 0, as rpm and dnf print it. */
export function nevra(rpm: Nevra): string {
  const epoch = rpm.epoch && rpm.epoch !== '0' ? `${rpm.epoch}:` : '';
  return `${rpm.name}-${epoch}${rpm.version}-${rpm.release}.${rpm.arch}`;
}

/**
 * Splits `name-[epoch:]version-release.arch` (an rpm file name without `.rpm`
 * too); returns undefined when the text cannot be a NEVRA. The epoch is '0' when absent.
 */
export function parseNevra(text: string): (Nevra & { epoch: string }) | undefined {
  const dot = text.lastIndexOf('.');
  const relDash = text.lastIndexOf('-', dot);
  const verDash = text.lastIndexOf('-', relDash - 1);
  if (dot < 0 || relDash < 0 || verDash <= 0) return undefined;
  const name = text.slice(0, verDash);
  const ev = text.slice(verDash + 1, relDash);
  const colon = ev.indexOf(':');
  const epoch = colon >= 0 ? ev.slice(0, colon) : '0';
  const version = ev.slice(colon + 1);
  if (!/^\d+$/.test(epoch) || !name || !version) return undefined;
  return { name, epoch, version, release: text.slice(relDash + 1, dot), arch: text.slice(dot + 1) };
}
