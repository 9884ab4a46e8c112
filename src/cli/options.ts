/**
 * isomock's command-line vocabulary, named and grouped as in Mock's --help:
 * every option of Mock's, either implemented or listed in `refused` (one line
 * "... is not supported by isomock", exit 5), plus isomock's own few.
 */
import type { OptionSpec } from './args.js';

/** Mock's options isomock does not implement, with what each does in Mock. */
const refused: [string[], string][] = [
  [['--scrub-all-chroots'], 'scrub every chroot and cache Mock knows of'],
  [['--remove'], 'remove packages from the buildroot'],
  [['--orphanskill'], 'kill processes left in the buildroot'],
  [['--snapshot'], 'make a snapshot of the buildroot (LVM, overlayfs)'],
  [['--remove-snapshot'], 'remove a snapshot'],
  [['--rollback-to'], 'return the buildroot to a snapshot'],
  [['-l', '--list-snapshots'], 'list the snapshots'],
  [['--umount'], 'unmount the buildroot (LVM)'],
  [['--mount'], 'mount the buildroot (LVM)'],
  [['--macro-file'], 'a file of rpm macros for the build'],
  [['--symlink-dereference'], 'follow symlinks in --sources'],
  [['--trace'], 'trace logging'],
  [['--scm-enable'], 'build from a source-control checkout'],
  [['--scm-option'], 'options for --scm-enable'],
  [['--buildroot-image'], 'make the buildroot from an OCI image'],
];

/** Every spelling of the refused options (the tests and the compatibility table go through them). */
export const refusedOptions: string[] = refused.flatMap(([names]) => names);

/** The trusted side's say on signatures (signing/policy.ts), for isolated-repo and --isolated-build. */
const signatureOptions: OptionSpec[] = [
  {
    names: ['--gpgkey'],
    arity: 1,
    repeat: true,
    metavar: ['FILE'],
    help: 'isolated-repo, --isolated-build: a trusted OpenPGP public key (repeatable); every RPM must carry a good signature by one of them',
  },
  {
    names: ['--require-signatures'],
    arity: 0,
    help: 'with no trusted key, fail instead of warning that signatures are not checked',
  },
];

export const mainOptions: OptionSpec[] = [
  // Modes: what to do. Only one may be given; --rebuild is the default.
  { names: ['--rebuild'], arity: 0, mode: true, help: 'rebuild the specified SRPM(s) (the default)' },
  {
    names: ['--chain'],
    arity: 0,
    mode: true,
    help: 'build the SRPMs in order, each with the packages built before it',
  },
  { names: ['--buildsrpm'], arity: 0, mode: true, help: 'build a source RPM from --spec and --sources' },
  {
    names: ['--calculate-build-dependencies'],
    arity: 0,
    mode: true,
    help: 'prepare the buildroot online, resolve static and dynamic BuildRequires, write buildroot_lock.json, and stop before %build',
  },
  {
    names: ['--isolated-build', '--hermetic-build'],
    arity: 2,
    mode: true,
    metavar: ['LOCKFILE', 'REPO'],
    help: 'build the SRPM offline from LOCKFILE and the local repository REPO made by `isomock isolated-repo`',
  },
  {
    names: ['--accept-other-srpm'],
    arity: 0,
    help: 'with --isolated-build: build an SRPM other than the one the isomock record says LOCKFILE was calculated for',
  },
  ...signatureOptions,
  { names: ['--shell'], arity: 0, mode: true, help: 'run a shell (or the given command) in the buildroot' },
  { names: ['--chroot'], arity: 0, mode: true, help: 'run the given command in the buildroot' },
  { names: ['--init'], arity: 0, mode: true, help: 'initialize the buildroot and exit' },
  { names: ['--clean'], arity: 0, mode: true, help: 'completely remove the buildroot' },
  {
    names: ['--scrub'],
    arity: 1,
    mode: true,
    repeat: true,
    metavar: ['TYPE'],
    help: 'completely remove the buildroot and/or caches: all, chroot, bootstrap, cache, root-cache, c-cache, yum-cache, dnf-cache, store (isomock: the content-addressed store)',
  },
  { names: ['--installdeps'], arity: 0, mode: true, help: 'install the build dependencies of the SRPM or spec' },
  { names: ['-i', '--install'], arity: 0, mode: true, help: 'install the named packages into the buildroot' },
  { names: ['--copyin'], arity: 0, mode: true, help: 'copy host files (SRC... DEST) into the buildroot' },
  { names: ['--copyout'], arity: 0, mode: true, help: 'copy buildroot files (SRC... DEST, globs) to the host' },
  { names: ['--pm-cmd'], arity: 0, mode: true, help: "run the buildroot's package manager with the given arguments" },
  { names: ['--yum-cmd'], arity: 0, mode: true, help: 'run yum in the buildroot with the given arguments' },
  { names: ['--dnf-cmd'], arity: 0, mode: true, help: 'run dnf (dnf5 if the config says so) in the buildroot' },
  {
    names: ['--update'],
    arity: 0,
    mode: true,
    help: 'update the named packages in the buildroot, or all of them',
  },
  { names: ['--debug-config'], arity: 0, mode: true, help: 'print the resolved configuration and exit' },
  {
    names: ['--debug-config-expanded'],
    arity: 0,
    mode: true,
    help: 'print the resolved configuration with templates expanded',
  },

  { names: ['--list-chroots'], arity: 0, mode: true, help: 'list the chroot configs and their descriptions' },
  { names: ['-p', '--print-root-path'], arity: 0, help: "print the buildroot's path and exit" },

  {
    names: ['--localrepo'],
    arity: 1,
    metavar: ['DIR'],
    help: 'with --chain: the local repository directory (default: a new one in /var/tmp)',
  },
  { names: ['-c', '--continue'], arity: 0, help: 'with --chain: go on with the next SRPM after a failed build' },
  {
    names: ['--recurse'],
    arity: 0,
    help: 'with --chain: build the rest after a failure and come back to it (implies --continue)',
  },
  {
    names: ['--tmp_prefix'],
    arity: 1,
    metavar: ['PREFIX'],
    help: "with --chain: prefix of the temporary repository's name (default: the user name)",
  },
  { names: ['--spec'], arity: 1, metavar: ['SPEC'], help: 'the spec file for --buildsrpm' },
  {
    names: ['--sources'],
    arity: 1,
    metavar: ['SOURCES'],
    help: 'the sources for --buildsrpm: a directory of files, or one file',
  },

  // Configuration.
  {
    names: ['-r', '--root'],
    arity: 1,
    metavar: ['CONFIG'],
    help: 'chroot config name (looked up in the config dirs) or path to a .cfg file',
  },
  {
    names: ['--configdir'],
    arity: 1,
    metavar: ['DIR'],
    help: 'look for configs in DIR before /etc/isomock and /etc/mock',
  },
  { names: ['--config-opts'], arity: 1, repeat: true, metavar: ['KEY=VALUE'], help: 'override a config option' },
  {
    names: ['-D', '--define'],
    arity: 1,
    repeat: true,
    metavar: ["'MACRO EXPR'"],
    help: 'define an rpm macro for the build',
  },
  {
    names: ['--with'],
    arity: 1,
    repeat: true,
    metavar: ['OPTION'],
    help: 'enable a configure option (bcond) for the build',
  },
  {
    names: ['--without'],
    arity: 1,
    repeat: true,
    metavar: ['OPTION'],
    help: 'disable a configure option (bcond) for the build',
  },
  {
    names: ['-a', '--addrepo'],
    arity: 1,
    repeat: true,
    metavar: ['REPO'],
    help: 'add a repository (URL or path) to the package manager config',
  },
  { names: ['--enablerepo'], arity: 1, repeat: true, metavar: ['REPOID'], help: 'enable a disabled repository' },
  { names: ['--disablerepo'], arity: 1, repeat: true, metavar: ['REPOID'], help: 'disable an enabled repository' },
  { names: ['--resultdir'], arity: 1, metavar: ['DIR'], help: 'directory for the results: RPMs, logs, lockfile' },
  { names: ['--rootdir'], arity: 1, metavar: ['DIR'], help: 'directory of the buildroot' },
  {
    names: ['--uniqueext'],
    arity: 1,
    metavar: ['TEXT'],
    help: 'unique extension for the root name, for parallel builds of one config',
  },
  { names: ['--target'], arity: 1, metavar: ['ARCH'], help: 'target arch of the build (rpmbuild --target)' },
  { names: ['--arch'], arity: 1, metavar: ['ARCH'], help: 'arch of the buildroot' },
  {
    names: ['--isolation'],
    arity: 1,
    metavar: ['MODE'],
    help: 'isolation of the build: simple, nspawn or auto (the network is cut in every mode)',
  },
  { names: ['--old-chroot'], arity: 0, help: 'obsolete spelling of --isolation=simple (use_nspawn = False)' },
  { names: ['--new-chroot'], arity: 0, help: 'obsolete spelling of --isolation=nspawn (use_nspawn = True)' },
  {
    names: ['--forcearch'],
    arity: 1,
    metavar: ['ARCH'],
    help: 'force the arch for the package manager (needs emulation)',
  },
  { names: ['--yum'], arity: 0, help: 'use yum as the package manager' },
  { names: ['--dnf'], arity: 0, help: 'use dnf as the package manager' },
  {
    names: ['--cache-alterations'],
    arity: 0,
    help: 'rebuild the root cache after every init, not only of a fresh buildroot',
  },
  { names: ['--enable-network'], arity: 0, help: 'leave the network on for the build (rpmbuild_networking)' },
  { names: ['--bootstrap-chroot'], arity: 0, help: 'build in a bootstrap chroot (use_bootstrap)' },
  { names: ['--no-bootstrap-chroot'], arity: 0, help: "install the buildroot with the host's package manager" },
  { names: ['--use-bootstrap-image'], arity: 0, help: 'make the bootstrap chroot from bootstrap_image' },
  { names: ['--no-bootstrap-image'], arity: 0, help: 'do not make the bootstrap chroot from an image' },
  {
    names: ['--bootstrap-image-ready'],
    arity: 0,
    help: "kojid's: the bootstrap image is ready as it is (bootstrap_image_ready)",
  },
  {
    names: ['--additional-package'],
    arity: 1,
    repeat: true,
    metavar: ['PACKAGE'],
    help: 'also install PACKAGE into the buildroot',
  },
  {
    names: ['--enable-plugin'],
    arity: 1,
    repeat: true,
    metavar: ['PLUGIN'],
    help: "set plugin_conf[PLUGIN_enable]; of Mock's plugins isomock runs buildroot_lock (a lockfile from any build)",
  },
  {
    names: ['--disable-plugin'],
    arity: 1,
    repeat: true,
    metavar: ['PLUGIN'],
    help: 'unset plugin_conf[PLUGIN_enable]',
  },
  { names: ['--plugin-option'], arity: 1, repeat: true, metavar: ['PLUGIN:KEY=VALUE'], help: 'set a plugin option' },
  {
    names: ['--cleanup-after'],
    arity: 0,
    help: 'remove the buildroot after the build (the default unless the result dir is inside the root dir)',
  },
  { names: ['-N', '--no-cleanup-after'], arity: 0, help: 'keep the buildroot after the build' },
  { names: ['--offline'], arity: 0, help: 'use only local data: cached repository metadata and images' },
  { names: ['--nocheck'], arity: 0, help: 'skip %check' },
  {
    names: ['--short-circuit'],
    arity: 1,
    metavar: ['STAGE'],
    help: 'rpmbuild --short-circuit from STAGE (prep, build, install, binary); implies --no-clean; the packages are unusable',
  },
  { names: ['--rpmbuild-opts'], arity: 1, metavar: ['OPTIONS'], help: "more options for rpmbuild's command line" },
  { names: ['--postinstall'], arity: 0, help: 'install the built packages into the buildroot after the build' },
  {
    names: ['--rpmbuild_timeout'],
    arity: 1,
    metavar: ['SECONDS'],
    help: 'end each rpmbuild call after SECONDS (SIGTERM, then SIGKILL; exit 11)',
  },
  { names: ['-n', '--no-clean'], arity: 0, help: 'do not clean the buildroot before building' },
  { names: ['--unpriv'], arity: 0, help: 'run the --shell or --chroot command as the build user, not root' },
  {
    names: ['--cwd'],
    arity: 1,
    metavar: ['DIR'],
    help: 'working directory (in the buildroot) of the --shell or --chroot command',
  },

  // Output.
  { names: ['-v', '--verbose'], arity: 0, help: 'verbose output' },
  { names: ['-q', '--quiet'], arity: 0, help: 'only print errors (and warnings)' },
  { names: ['--json'], arity: 0, help: 'print machine-readable JSON where a command has output' },
  { names: ['--version'], arity: 0, help: 'print the version and exit' },
  { names: ['-h', '--help'], arity: 0, help: 'show this help and exit' },
  ...refused.map(([names, what]): OptionSpec => ({
    names,
    arity: 0,
    unsupported: true,
    help: `${what}: not supported`,
  })),
];

export const isolatedRepoOptions: OptionSpec[] = [
  ...signatureOptions,
  {
    names: ['--lockfile'],
    arity: 1,
    metavar: ['FILE'],
    help: 'the buildroot_lock.json written by --calculate-build-dependencies',
  },
  { names: ['--output-repo'], arity: 1, metavar: ['DIR'], help: 'directory to make into the offline repository' },
  {
    names: ['--isomock-record', '--isomock-lock'],
    arity: 1,
    metavar: ['FILE'],
    help: "isomock's record of the locked files (SHA-256, size); default: buildroot_lock.isomock.json beside the lockfile, if there",
  },
  {
    names: ['--client-cert-for'],
    arity: 2,
    optional: 1,
    repeat: true,
    metavar: ['HOST', 'CERT', '[KEY]'],
    help: 'use a TLS client certificate (and key) for downloads from HOST',
  },
  {
    names: ['--proxy'],
    arity: 1,
    metavar: ['URL'],
    help: 'download through this proxy (default: http_proxy/https_proxy, minus no_proxy); credentials only in those variables',
  },
  {
    names: ['--ca-cert'],
    arity: 1,
    repeat: true,
    metavar: ['FILE'],
    help: 'also trust the CA certificates in this PEM file (SSL_CERT_FILE replaces the default trust)',
  },
  { names: ['--jobs'], arity: 1, metavar: ['N'], help: 'parallel downloads (default 8)' },
  {
    names: ['--timeout'],
    arity: 1,
    metavar: ['SECONDS'],
    help: "as dnf's timeout: a download below --minrate this long is retried; no progress for 3 times this long fails (default 30)",
  },
  {
    names: ['--minrate'],
    arity: 1,
    metavar: ['BYTES'],
    help: "as dnf's minrate: bytes/s a download must keep up (default 1000)",
  },
  {
    names: ['--max-size'],
    arity: 1,
    metavar: ['BYTES'],
    help: 'largest RPM taken when no isomock record states its size (default 4 GiB)',
  },
  {
    names: ['--allow-link-local'],
    arity: 0,
    help: 'let lockfile URLs reach link-local addresses (169.254.0.0/16, fe80::/10: cloud instance credentials)',
  },
  { names: ['--bootstrap-tar'], arity: 0, help: 'also save the bootstrap image as bootstrap.tar (OCI archive)' },
  { names: ['-v', '--verbose'], arity: 0, help: 'verbose output' },
  { names: ['-q', '--quiet'], arity: 0, help: 'only print errors' },
  { names: ['-h', '--help'], arity: 0, help: 'show this help and exit' },
];

export const imageOptions: OptionSpec[] = [
  { names: ['--arch'], arity: 1, metavar: ['ARCH'], help: 'target arch (rpm name, e.g. x86_64) for multi-arch images' },
  { names: ['--format'], arity: 1, metavar: ['FORMAT'], help: 'for save: dir (default) or oci-archive' },
  { names: ['--json'], arity: 0, help: 'print JSON' },
  { names: ['-v', '--verbose'], arity: 0, help: 'verbose output' },
  { names: ['-q', '--quiet'], arity: 0, help: 'only print errors' },
  { names: ['-h', '--help'], arity: 0, help: 'show this help and exit' },
];
