/**
 * Mock-style configuration for a served world: a config directory holding
 * site-defaults.cfg, a template with the dnf.conf, and one chroot config per
 * variant, in the Python syntax Mock reads. Written at serve time because
 * the repo URLs carry the port.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorldManifest, WorldRepo } from './manifest.js';

interface ConfigVariant {
  /** The chroot config's name (`-r NAME`). */
  name: string;
  repos: WorldRepo['id'][];
}

function configVariants(manifest: WorldManifest): ConfigVariant[] {
  const all = manifest.repos.map((r) => r.id);
  return [
    { name: `world-${manifest.releasever}-${manifest.arch}`, repos: all },
    { name: `world-${manifest.releasever}-base-${manifest.arch}`, repos: ['base'] },
  ];
}

/** A Python string literal (single-quoted, escaped). */
function pyString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/**
 * A signed world's configs (world/signed.ts) check as Fedora's do: the key
 * from a file:// URL under /usr/share/distribution-gpg-keys, packages and
 * repomd.xml signatures both.
 */
export interface Signing {
  keyUrl: string;
}

/** The repo's gpg lines: the world's own key and no checks, or the signed world's checks. */
function gpgLines(signing: Signing | undefined, unsignedKeyUrl: string): string {
  if (!signing) return `gpgkey=${unsignedKeyUrl}\ngpgcheck=0\n`;
  return `gpgkey=${signing.keyUrl}\ngpgcheck=1\nrepo_gpgcheck=1\n`;
}

function repoSection(repo: WorldRepo, baseUrl: string, manifest: WorldManifest, signing?: Signing): string {
  return `[world-${repo.id}]
name=${repo.name}
baseurl=${baseUrl}${repo.dir}/
${gpgLines(signing, `${baseUrl}${manifest.gpgKey.file}`)}enabled=1
skip_if_unavailable=False
`;
}

function dnfConf(
  variant: ConfigVariant,
  baseUrl: string,
  manifest: WorldManifest,
  extraMain = '',
  signing?: Signing,
): string {
  const repos = manifest.repos.filter((r) => variant.repos.includes(r.id));
  return `[main]
keepcache=1
${extraMain}debuglevel=2
reposdir=/dev/null
logfile=/var/log/yum.log
retries=20
obsoletes=1
gpgcheck=${signing ? 1 : 0}
assumeyes=1
syslog_ident=mock
syslog_device=
install_weak_deps=0
metadata_expire=0
best=1
protected_packages=

${repos.map((r) => repoSection(r, baseUrl, manifest, signing)).join('\n')}`;
}

/** Settings every variant shares; the chroot configs include it like Mock's templates. */
function template(manifest: WorldManifest): string {
  return `# The isomock demo world. Generated at serve time; the repo URLs carry the port.
config_opts['chroot_setup_cmd'] = ${pyString(`install @${manifest.buildsysGroup}`)}
config_opts['dist'] = ${pyString(manifest.dist.replace(/^\./, ''))}
config_opts['releasever'] = ${pyString(manifest.releasever)}
config_opts['package_manager'] = 'dnf'
config_opts['use_bootstrap'] = False
config_opts['macros']['%dist'] = ${pyString(manifest.dist)}
config_opts['macros']['%_dbpath'] = ${pyString(manifest.dbpath)}
config_opts['macros']['%_buildhost'] = 'world-build.isomock.test'
`;
}

function chrootConfig(variant: ConfigVariant, baseUrl: string, manifest: WorldManifest, signing?: Signing): string {
  return `include('templates/world.tpl')

config_opts['root'] = ${pyString(variant.name)}
config_opts['target_arch'] = ${pyString(manifest.arch)}
config_opts['legal_host_arches'] = (${pyString(manifest.arch)},)
config_opts['dnf.conf'] = """
${dnfConf(variant, baseUrl, manifest, '', signing)}"""
`;
}

const siteDefaults = `# Site-wide defaults for the isomock demo world (read before every chroot config).
# Nothing is overridden: Mock's built-in defaults apply.
`;

/** The variant that prepares its bootstrap from a container image holding dnf (Mock's default). */
function bootstrapConfig(base: string, image: string, manifest: WorldManifest): string {
  return `include(${pyString(`${base}.cfg`)})

config_opts['root'] = ${pyString(`world-${manifest.releasever}-bootstrap-${manifest.arch}`)}
config_opts['use_bootstrap'] = True
config_opts['use_bootstrap_image'] = True
config_opts['bootstrap_image'] = ${pyString(image)}
config_opts['bootstrap_image_ready'] = True
`;
}

/**
 * The dnf5 variants, shaped like Fedora's own templates since Fedora 40:
 * `package_manager = 'dnf5'`, a bootstrap image holding dnf5, and a dnf.conf
 * with `system_cachedir=/var/cache/dnf` (where Mock binds its package cache)
 * and no filelists; the `-filelists` twin asks for them as a user would.
 */
function dnf5Configs(
  baseUrl: string,
  dnf5: Dnf5Variants,
  manifest: WorldManifest,
  signing?: Signing,
): Record<string, string> {
  const all: ConfigVariant = configVariants(manifest)[0]!;
  const name = `world-${manifest.releasever}-dnf5-${manifest.arch}`;
  const image = dnf5.image;
  const config = (root: string, extraMain: string, extraRepos = ''): string => `include(${pyString(`${all.name}.cfg`)})

config_opts['root'] = ${pyString(root)}
config_opts['package_manager'] = 'dnf5'
config_opts['use_bootstrap'] = True
config_opts['use_bootstrap_image'] = True
config_opts['bootstrap_image'] = ${pyString(image)}
config_opts['bootstrap_image_ready'] = True
config_opts['dnf.conf'] = """
${dnfConf(all, baseUrl, manifest, `system_cachedir=/var/cache/dnf\n${extraMain}`, signing)}${extraRepos}"""
`;
  const v6Repo = (url: string): string => `
[world-v6]
name=World packages in rpm 6's v6 format
baseurl=${url.endsWith('/') ? url : `${url}/`}
${signing ? gpgLines(signing, '') : 'gpgcheck=0\n'}enabled=1
skip_if_unavailable=False
`;
  return {
    [name]: config(name, ''),
    [`${name}-filelists`]: config(`${name}-filelists`, 'optional_metadata_types=comps,updateinfo,filelists\n'),
    ...(dnf5.v6RepoUrl ? { [`${name}-v6`]: config(`${name}-v6`, '', v6Repo(dnf5.v6RepoUrl)) } : {}),
  };
}

/** The dnf5 variants' bootstrap image and, for the `-v6` variant, where the v6 packages are served (gen/v6.ts). */
export interface Dnf5Variants {
  image: string;
  v6RepoUrl?: string;
}

/**
 * Writes the config directory for a world served at baseUrl; returns the
 * chroot config names. With bootstrapImage, also a variant using it; with
 * dnf5, the dnf5 variants (dnf5Configs); with signing, every repo is
 * checked (Signing).
 */
export async function writeMockConfigs(
  configDir: string,
  baseUrl: string,
  manifest: WorldManifest,
  bootstrapImage?: string,
  dnf5?: Dnf5Variants,
  signing?: Signing,
): Promise<string[]> {
  const url = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  await mkdir(join(configDir, 'templates'), { recursive: true });
  await writeFile(join(configDir, 'site-defaults.cfg'), siteDefaults);
  await writeFile(join(configDir, 'templates', 'world.tpl'), template(manifest));
  const variants = configVariants(manifest);
  for (const variant of variants) {
    await writeFile(join(configDir, `${variant.name}.cfg`), chrootConfig(variant, url, manifest, signing));
  }
  const names = variants.map((v) => v.name);
  if (bootstrapImage) {
    const name = `world-${manifest.releasever}-bootstrap-${manifest.arch}`;
    await writeFile(join(configDir, `${name}.cfg`), bootstrapConfig(names[0]!, bootstrapImage, manifest));
    names.push(name);
  }
  for (const [name, text] of Object.entries(dnf5 ? dnf5Configs(url, dnf5, manifest, signing) : {})) {
    await writeFile(join(configDir, `${name}.cfg`), text);
    names.push(name);
  }
  return names;
}
