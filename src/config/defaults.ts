/**
 * Mock's built-in option defaults (setup_default_config_opts), the base that
 * site-defaults.cfg and the chroot config change. Values that depend on the
 * host (uid, the `mock` group, the machine's arch) are read here; options of
 * Mock features isomock has no use for (log formats, SCM, LVM) are kept too,
 * so configs that touch them behave as under Mock.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { machine } from 'node:os';
import { version } from '../version.js';
import { newDict, PyTuple, type PyDict, type PyValue } from '../python/value.js';

type Plain = string | number | boolean | null | PyTuple | Plain[] | { [k: string]: Plain };

/** Builds Python values from a JS literal: objects become dicts, arrays lists. */
function py(v: Plain): PyValue {
  if (v instanceof PyTuple || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(py);
  return newDict(Object.entries(v).map(([k, x]) => [k, py(x)]));
}

const tuple = (...items: PyValue[]): PyTuple => PyTuple.fromItems(items);

const pluginList = [
  'tmpfs',
  'root_cache',
  'yum_cache',
  'mount',
  'bind_mount',
  'ccache',
  'selinux',
  'package_state',
  'chroot_scan',
  'lvm_root',
  'compress_logs',
  'sign',
  'pm_request',
  'hw_info',
  'procenv',
  'showrc',
  'rpkg_preprocessor',
  'rpmautospec',
  'buildroot_lock',
  'export_buildroot_image',
  'unbreq',
  'expand_spec',
  'system_monitor',
];

/**
 * Mock also lists every other module of its installed plugin directory, each
 * disabled with empty options: `overlayfs`, and `__init__` (the package file,
 * picked up by the same glob). Kept so configs and --debug-config agree.
 */
const runtimePlugins = ['__init__', 'overlayfs'];

/** gid of the `mock` group, as Mock looks it up; undefined when there is none. */
function mockGroupId(): number | undefined {
  try {
    const line = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('mock:'));
    return line ? Number(line.split(':')[2]) : undefined;
  } catch {
    return undefined;
  }
}

const pmCommonOpts = ['--setopt=deltarpm=False', '--setopt=allow_vendor_change=yes', '--allowerasing'];

/** `uid`: chrootuid, the uid Mock reads the config as (the invoking user); the process uid when omitted. */
export function defaultConfig(uid: number = process.getuid?.() ?? 0): PyDict {
  const gid = mockGroupId();
  const chroothome = '/builddir';
  const opts: Record<string, Plain> = {
    config_paths: [],
    version,
    basedir: '/var/lib/mock',
    resultdir: '{{basedir}}/{{root}}/result',
    rootdir: '{{basedir}}/{{root}}/root',
    cache_topdir: '/var/cache/mock',
    clean: true,
    check: true,
    post_install: false,
    chroothome,
    log_config_file: 'logging.ini',
    rpmbuild_timeout: 0,
    host_arch: machine(),
    chrootuid: uid,
    ...(gid === undefined ? {} : { chrootgid: gid }),
    chrootgroup: 'mock',
    chrootuser: 'mockbuild',
    build_log_fmt_name: 'unadorned',
    root_log_fmt_name: 'detailed',
    state_log_fmt_name: 'state',
    online: true,
    isolation: null,
    use_nspawn: null,
    rpmbuild_networking: false,
    nspawn_args: ['--capability=cap_ipc_lock'],
    use_container_host_hostname: true,
    use_bootstrap: true,
    use_bootstrap_image: true,
    bootstrap_image: 'fedora:latest',
    bootstrap_image_skip_pull: false,
    bootstrap_image_ready: false,
    bootstrap_image_fallback: true,
    bootstrap_image_keep_getting: 120,
    bootstrap_image_pull_timeout: 120,
    bootstrap_image_assert_digest: null,
    use_buildroot_image: false,
    buildroot_image: null,
    buildroot_image_skip_pull: false,
    buildroot_image_ready: false,
    buildroot_image_fallback: false,
    buildroot_image_keep_getting: 120,
    buildroot_image_pull_timeout: 120,
    buildroot_image_assert_digest: null,
    oci_platform_map: { x86_64_v2: 'linux/amd64/v2', x86_64_v3: 'linux/amd64/v3', x86_64_v4: 'linux/amd64/v4' },
    internal_dev_setup: true,
    cleanup_on_success: true,
    cleanup_on_failure: true,
    exclude_from_homedir_cleanup: ['build/SOURCES', '.bash_history', '.bashrc'],
    createrepo_on_rpms: false,
    createrepo_command: '/usr/bin/createrepo_c -d -q -x *.src.rpm',
    tar_binary: '/bin/tar',
    tar: 'gnutar',
    backup_on_clean: false,
    backup_base_dir: '{{basedir}}/backup',
    redhat_subscription_required: false,
    ssl_ca_bundle_path: null,
    ssl_copied_ca_trust_dirs: [
      tuple('/etc/pki/ca-trust', '/etc/pki/ca-trust'),
      tuple('/usr/share/pki/ca-trust-source', '/usr/share/pki/ca-trust-source'),
    ],
    ssl_extra_certs: null,
    plugins: [...pluginList, ...runtimePlugins],
    plugin_conf: {
      ccache_enable: false,
      ccache_opts: {
        max_cache_size: '4G',
        compress: null,
        dir: '{{cache_topdir}}/{{root}}/ccache/u{{chrootuid}}/',
        hashdir: true,
        debug: false,
        show_stats: false,
      },
      yum_cache_enable: true,
      yum_cache_opts: { max_age_days: 30, max_metadata_age_days: 30, online: true },
      root_cache_enable: true,
      root_cache_opts: {
        age_check: true,
        max_age_days: 15,
        dir: '{{cache_topdir}}/{{root}}/root_cache/',
        compress_program: 'pigz',
        decompress_program: null,
        exclude_dirs: ['./proc', './sys', './dev', './tmp/ccache', './var/cache/yum', './var/cache/dnf', './var/log'],
        extension: '.gz',
      },
      bind_mount_enable: true,
      bind_mount_opts: { dirs: [], create_dirs: false },
      mount_enable: true,
      mount_opts: { dirs: [] },
      tmpfs_enable: false,
      tmpfs_opts: { required_ram_mb: 900, max_fs_size: null, mode: '0755', keep_mounted: false },
      selinux_enable: true,
      selinux_opts: {},
      package_state_enable: true,
      package_state_opts: { available_pkgs: false, installed_pkgs: true },
      buildroot_lock_enable: false,
      buildroot_lock_opts: {},
      pm_request_enable: false,
      pm_request_opts: {},
      lvm_root_enable: false,
      lvm_root_opts: { pool_name: 'mockbuild' },
      chroot_scan_enable: false,
      chroot_scan_opts: { regexes: ['^[^k]?core(\\.\\d+)?$', '\\.log$'], only_failed: true, write_tar: false },
      sign_enable: false,
      sign_opts: { cmd: 'rpmsign', opts: '--addsign %(rpms)s' },
      hw_info_enable: true,
      hw_info_opts: {},
      procenv_enable: false,
      procenv_opts: {},
      showrc_enable: false,
      showrc_opts: {},
      compress_logs_enable: false,
      compress_logs_opts: { command: 'gzip' },
      rpkg_preprocessor_enable: false,
      rpkg_preprocessor_opts: {
        requires: ['preproc-rpmspec'],
        cmd: '/usr/bin/preproc-rpmspec %(source_spec)s --output %(target_spec)s',
      },
      rpmautospec_enable: false,
      rpmautospec_opts: { requires: ['rpmautospec'], cmd_base: ['/usr/bin/rpmautospec', 'process-distgit'] },
      export_buildroot_image_enable: false,
      export_buildroot_image_opts: {},
      unbreq_enable: false,
      unbreq_opts: { exclude_accessed_files: [] },
      expand_spec_enable: false,
      expand_spec_opts: { rpmspec_opts: [] },
      system_monitor_enable: false,
      system_monitor_opts: { interval: 2 },
      ...Object.fromEntries(
        runtimePlugins.flatMap((p) => [
          [`${p}_enable`, false],
          [`${p}_opts`, {}],
        ]),
      ),
    },
    environment: {
      TERM: 'vt100',
      SHELL: '/bin/bash',
      HOME: '/builddir',
      HOSTNAME: 'mock',
      PATH: '/usr/bin:/bin:/usr/sbin:/sbin',
      PROMPT_COMMAND: 'printf "\\033]0;<mock-chroot>\\007"',
      PS1: '<mock-chroot> \\s-\\v\\$ ',
      LANG: 'C.UTF-8',
    },
    scm: false,
    scm_opts: {
      method: 'git',
      cvs_get: 'cvs -d /srv/cvs co SCM_BRN SCM_PKG',
      git_get: 'git clone SCM_BRN git://localhost/SCM_PKG.git SCM_PKG',
      svn_get: 'svn co file:///srv/svn/SCM_PKG/SCM_BRN SCM_PKG',
      distgit_get: 'rpkg clone -a --branch SCM_BRN SCM_PKG SCM_PKG',
      distgit_src_get: 'rpkg sources',
      spec: 'SCM_PKG.spec',
      int_src_dir: null,
      ext_src_dir: '/dev/null',
      write_tar: false,
      git_timestamps: false,
      exclude_vcs: true,
    },
    use_host_resolv: false,
    chroot_setup_cmd: tuple('groupinstall', 'buildsys-build'),
    repo_arch: null,
    repo_arch_map: {},
    target_arch: 'i386',
    releasever: null,
    rpmbuild_arch: null,
    dnf_vars: {},
    yum_builddep_opts: [],
    yum_common_opts: [],
    update_before_build: true,
    'priorities.conf': '\n[main]\nenabled=0',
    'rhnplugin.conf': '\n[main]\nenabled=0',
    'subscription-manager.conf': '',
    more_buildreqs: {},
    nosync: false,
    nosync_force: false,
    files: {},
    macros: {
      '%_topdir': `${chroothome}/build`,
      '%_rpmfilename': '%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm',
      // %_platform_multiplier is set by the arch check (config/arch.ts), as in Mock.
    },
    hostname: null,
    module_enable: [],
    module_install: [],
    module_setup_commands: [],
    forcearch: null,
    bootstrap_chroot_additional_packages: [],
    bootstrap_module_enable: [],
    bootstrap_module_install: [],
    bootstrap_module_setup_commands: [],
    no_root_shells: false,
    extra_chroot_dirs: [],
    package_manager: 'dnf',
    package_manager_max_attempts: 1,
    package_manager_attempt_delay: 10,
    dynamic_buildrequires: true,
    dynamic_buildrequires_max_loops: 10,
    static_buildrequires_max_loops: 10,
    external_buildrequires: false,
    dev_loop_count: 12,
    yum_command: '/usr/bin/yum',
    yum_system_command: '/usr/bin/yum',
    yum_install_command: 'install yum yum-utils',
    yum_builddep_command: '/usr/bin/yum-builddep',
    yum_avoid_opts: {},
    dnf4_command: '/usr/bin/dnf-3',
    dnf4_system_command: '/usr/bin/dnf-3',
    dnf4_common_opts: pmCommonOpts,
    dnf4_install_command: 'install python3-dnf python3-dnf-plugins-core',
    dnf4_disable_plugins: ['local', 'spacewalk', 'versionlock'],
    dnf4_avoid_opts: {},
    dnf5_command: '/usr/bin/dnf5',
    dnf5_system_command: '/usr/bin/dnf5',
    dnf5_common_opts: pmCommonOpts,
    dnf5_install_command: 'install dnf5 dnf5-plugins',
    dnf5_disable_plugins: [],
    dnf5_avoid_opts: {
      remove: ['--allowerasing'],
      repoquery: ['--allowerasing'],
      makecache: ['--allowerasing'],
      search: ['--allowerasing'],
      info: ['--allowerasing'],
      download: ['--allowerasing'],
    },
    microdnf_command: '/usr/bin/microdnf',
    microdnf_install_command: 'dnf-install microdnf dnf dnf-plugins-core',
    microdnf_builddep_command: '/usr/bin/dnf',
    microdnf_builddep_opts: [],
    microdnf_common_opts: [],
    microdnf_avoid_opts: {},
    rpm_command: '/bin/rpm',
    rpmbuild_command: '/usr/bin/rpmbuild',
    user_agent: 'Mock ({{ root }}; {{ target_arch }})',
    opstimeout: 0,
    stderr_line_prefix: '',
    chroot_additional_packages: [],
    additional_packages: null,
    'no-config': {},
    seccomp: false,
    copy_host_users: [],
    use_host_shadow_utils: true,
    shadow_utils_isolation_option: '--prefix',
    qemu_user_static_mapping: { armv7hl: 'arm', i686: 'i386' },
    recursion_limit: 5000,
    calculatedeps: null,
    hermetic_build: false,
    mock_run_uuid: randomUUID(),
  };
  return py(opts) as PyDict;
}
