/**
 * The world's base system: enough for a buildroot in which rpmbuild runs,
 * wrapped from the host's Debian files. Every package here is in the
 * buildsys-build group.
 */
import type { PackageDef } from './model.js';

const topDirs: Array<[string, number]> = [
  ['/usr', 0o755],
  ['/usr/bin', 0o755],
  ['/usr/sbin', 0o755],
  ['/usr/lib', 0o755],
  ['/usr/lib64', 0o755],
  ['/usr/libexec', 0o755],
  ['/usr/share', 0o755],
  ['/usr/include', 0o755],
  ['/usr/local', 0o755],
  ['/etc', 0o755],
  ['/etc/rpm', 0o755],
  ['/var', 0o755],
  ['/var/lib', 0o755],
  ['/var/lib/rpm', 0o755],
  ['/var/cache', 0o755],
  ['/var/log', 0o755],
  ['/var/tmp', 0o1777],
  ['/tmp', 0o1777],
  ['/root', 0o550],
  ['/home', 0o755],
  ['/dev', 0o755],
  ['/proc', 0o555],
  ['/sys', 0o555],
  ['/run', 0o755],
  ['/mnt', 0o755],
  ['/opt', 0o755],
  ['/srv', 0o755],
  ['/boot', 0o555],
  ['/media', 0o755],
];

// Shared libraries the base binaries (and rpm, rpmbuild, useradd, gawk) link,
// minus glibc's own; rpm's plugins (dbus, systemd) and rpmsign stay out.
const libraryDebs = [
  'libacl1',
  'libattr1',
  'libaudit1',
  'libaudit-common',
  'libbz2-1.0',
  'libcap-ng0',
  'libcap2',
  'libdw1',
  'libelf1',
  'libgcrypt20',
  'libgomp1',
  'libgpg-error0',
  'liblua5.3-0',
  'liblz4-1',
  'liblzma5',
  'libmagic1',
  'libmagic-mgc',
  'libpcre2-8-0',
  'libpopt0',
  'libselinux1',
  'libsemanage2',
  'libsemanage-common',
  'libsepol2',
  'libsqlite3-0',
  'libtinfo6',
  'libzstd1',
  'zlib1g',
  'libsigsegv2',
  'libreadline8',
  'libmpfr6',
  'libgmp10',
];

const rpmBuildFiles = /^\/usr\/(bin\/(rpmbuild|rpmspec|gendiff)|lib\/x86_64-linux-gnu\/librpmbuild\.so.*)$/;

function wrapped(
  name: string,
  summary: string,
  debian: PackageDef['debian'],
  extra: Partial<PackageDef> = {},
): PackageDef {
  return { name, summary, arch: 'x86_64', repo: 'base', signature: 'none', buildsys: true, debian, ...extra };
}

const passwdFile = 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:Kernel Overflow User:/:/usr/sbin/nologin\n';
const groupFile = 'root:x:0:\nnobody:x:65534:\n';

export const basePackages: PackageDef[] = [
  {
    name: 'filesystem',
    summary: 'The directory layout of the world (merged /usr)',
    arch: 'x86_64',
    repo: 'base',
    signature: 'header',
    version: '3.18',
    release: '1',
    buildsys: true,
    dirs: topDirs,
    symlinks: { '/bin': 'usr/bin', '/sbin': 'usr/sbin', '/lib': 'usr/lib', '/lib64': 'usr/lib64' },
  },
  {
    name: 'setup',
    summary: 'System accounts and basic configuration files',
    arch: 'noarch',
    repo: 'base',
    signature: 'header',
    version: '2.14',
    release: '1',
    buildsys: true,
    files: {
      '/etc/passwd': passwdFile,
      '/etc/group': groupFile,
      '/etc/shadow': 'root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n',
      '/etc/gshadow': 'root:*::\nnobody:*::\n',
      '/etc/hosts': '127.0.0.1 localhost\n::1 localhost\n',
      '/etc/shells': '/bin/sh\n/bin/bash\n/usr/bin/sh\n/usr/bin/bash\n',
      '/etc/nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n',
    },
    config: [
      '/etc/passwd',
      '/etc/group',
      '/etc/shadow',
      '/etc/gshadow',
      '/etc/hosts',
      '/etc/shells',
      '/etc/nsswitch.conf',
    ],
    requires: ['filesystem'],
  },
  wrapped(
    'glibc',
    'The C library, its loader and the gcc runtime',
    {
      debs: ['libc6', 'libgcc-s1', 'libcrypt1'],
      skip: /^\/usr\/lib\/x86_64-linux-gnu\/gconv\//,
    },
    { provides: ['rtld(GNU_HASH)'], requires: ['filesystem', 'setup'], signature: 'header' },
  ),
  // Lua's C++ flavour would pull in libstdc++.
  wrapped('base-libs', 'Shared libraries of the base system', { debs: libraryDebs, skip: /liblua5\.3-c\+\+/ }),
  wrapped(
    'bash',
    'The GNU Bourne Again shell',
    { debs: ['bash'] },
    {
      symlinks: { '/usr/bin/sh': 'bash' },
      provides: ['/bin/sh', '/bin/bash'],
      signature: 'header+payload',
    },
  ),
  wrapped('coreutils', 'GNU core utilities', { debs: ['coreutils'] }, { signature: 'header' }),
  wrapped('grep', 'GNU grep', { debs: ['grep'] }),
  wrapped('sed', 'GNU sed', { debs: ['sed'] }),
  wrapped(
    'gawk',
    'GNU awk',
    { debs: ['gawk'], skip: /^\/etc\/profile\.d\// },
    {
      symlinks: { '/usr/bin/awk': 'gawk' },
      provides: ['awk'],
    },
  ),
  wrapped('findutils', 'GNU find and xargs', { debs: ['findutils'] }),
  wrapped('tar', 'GNU tar', { debs: ['tar'], skip: /^\/usr\/sbin\/rmt/ }),
  wrapped('gzip', 'GNU gzip', { debs: ['gzip'] }),
  wrapped('bzip2', 'bzip2 compressor', { debs: ['bzip2'] }),
  wrapped('xz', 'XZ compressor', { debs: ['xz-utils'] }),
  wrapped('zstd', 'Zstandard compressor', { debs: ['zstd'], skip: /^\/usr\/bin\/pzstd$/ }), // pzstd is C++
  wrapped('diffutils', 'GNU diff, cmp, sdiff', { debs: ['diffutils'] }),
  wrapped('patch', 'GNU patch', { debs: ['patch'] }),
  wrapped('file', 'File type identification', { debs: ['file'] }),
  wrapped(
    'which',
    'Locates a command in PATH',
    { debs: ['debianutils'], only: /^\/usr\/bin\/which\.debianutils$/ },
    {
      symlinks: { '/usr/bin/which': 'which.debianutils' },
    },
  ),
  wrapped('shadow-utils', 'Tools to manage users and groups', {
    debs: ['passwd', 'login'],
    versionFrom: 'passwd',
    only: /^(\/usr\/sbin\/(user|group)(add|del|mod)|\/etc\/default\/useradd|\/etc\/login\.defs)$/,
  }),
  wrapped(
    'rpm',
    'The RPM package manager',
    {
      debs: ['rpm', 'rpm-common', 'rpm2cpio', 'librpm9', 'librpmio9'],
      skip: new RegExp(`${rpmBuildFiles.source}|^/usr/bin/(rpmsign|rpm2archive)$|rpm-plugins|^/etc/dbus-1/`),
    },
    { requires: ['world-rpm-config'] },
  ),
  wrapped(
    'rpm-build',
    'Builds RPM packages',
    { debs: ['rpm', 'librpmbuild9'], only: rpmBuildFiles },
    {
      requires: [
        'rpm',
        'bash',
        'coreutils',
        'findutils',
        'grep',
        'sed',
        'gawk',
        'tar',
        'gzip',
        'bzip2',
        'xz',
        'zstd',
        'diffutils',
        'patch',
        'file',
        'world-rpm-config',
      ],
    },
  ),
  {
    name: 'world-rpm-config',
    summary: 'rpm macros of the world distribution',
    arch: 'noarch',
    repo: 'base',
    signature: 'header',
    version: '1',
    release: '1',
    buildsys: true,
    // /etc/rpm/macros.* is read after the platform macros, which on Debian
    // set their own %__os_install_post.
    files: {
      '/etc/rpm/macros.world': [
        '%dist .w1',
        '%_dbpath /var/lib/rpm',
        '%__os_install_post %{nil}',
        '%debug_package %{nil}',
        '%_build_id_links none',
        '%_binary_payload w3.zstdio',
        '',
      ].join('\n'),
    },
    config: ['/etc/rpm/macros.world'],
  },
];
