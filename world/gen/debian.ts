/**
 * The host's Debian packages as raw material: their versions, their file
 * lists folded into a merged /usr, and their versions mapped onto RPM's EVR.
 */
import { IsomockError } from '../../src/errors.js';
import { exec } from './exec.js';

/** Documentation, translations and integration files a buildroot never needs. */
const unwanted =
  /^\/usr\/share\/(doc|doc-base|man|info|locale|lintian|bug|bash-completion|zsh|fish|gdb|menu|pixmaps|applications|debianutils)\/|^\/usr\/lib\/systemd\//;

/** Debian package -> version (dpkg-query -W), for the packages asked. */
export async function debianVersions(debs: string[]): Promise<Map<string, string>> {
  const out = await exec(['dpkg-query', '-W', '-f=${Package}\\t${Version}\\n', ...debs]);
  const versions = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [pkg, version] = line.split('\t');
    if (pkg && version) versions.set(pkg.replace(/:.*$/, ''), version);
  }
  for (const deb of debs) {
    if (!versions.has(deb)) throw new IsomockError(`world: Debian package ${deb} is not installed`);
  }
  return versions;
}

/** /bin, /sbin, /lib, /lib64 live under /usr in the world (merged /usr). */
export function foldIntoUsr(path: string): string {
  return path.replace(/^\/(bin|sbin|lib|lib64)\//, '/usr/$1/');
}

/**
 * Debian package -> its installed paths (files, links and directories as
 * dpkg lists them), without documentation.
 */
export async function debianFileLists(debs: string[]): Promise<Map<string, string[]>> {
  // dpkg-query -L prints the lists in the order asked, separated by blank lines.
  const out = await exec(['dpkg-query', '-L', ...debs]);
  const blocks = out.split(/\n\n/);
  if (blocks.length !== debs.length)
    throw new IsomockError(`world: dpkg-query -L gave ${blocks.length} lists for ${debs.length} packages`);
  const lists = new Map<string, string[]>();
  debs.forEach((deb, i) => {
    // Lines that are not paths ("diverted by ...") are dropped.
    const paths = blocks[i]!.split('\n').filter((p) => p.startsWith('/') && p !== '/.' && !unwanted.test(p));
    lists.set(deb, paths);
  });
  return lists;
}

export interface Evr {
  epoch?: number;
  version: string;
  release: string;
}

/**
 * Debian's [epoch:]upstream[-revision] as RPM's EVR; the release gets a
 * ".deb" suffix so wrapped packages are recognisable (bash-5.2.15-2+b8.deb.w1).
 */
export function debianToEvr(debVersion: string): Evr {
  const m = /^(?:(\d+):)?(.+?)(?:-([^-]+))?$/.exec(debVersion);
  if (!m) throw new IsomockError(`world: cannot read Debian version ${debVersion}`);
  const clean = (s: string): string => s.replace(/[^A-Za-z0-9._+~^]/g, '_');
  return {
    epoch: m[1] ? Number(m[1]) : undefined,
    version: clean(m[2]!),
    release: `${clean(m[3] ?? '0')}.deb`,
  };
}
