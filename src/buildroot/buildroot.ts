/**
 * A buildroot: the tree rpmbuild runs in. This module creates it (skeleton,
 * package manager config, the minimal package set, users, macros) and runs
 * commands in it. The package manager runs either from the host or from a
 * bootstrap tree (the target distribution's own dnf and rpm), exactly as
 * Mock runs it; every command runs in its own namespaces (sandbox.ts).
 * Every host-side file operation in the tree goes through `fs` (safe-fs.ts),
 * between commands, when no process of the build is alive in it.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { ExitCode, IsomockError } from '../errors.js';
import type { BuildConfig } from './build-config.js';
import type { BuildLogs } from './logs.js';
import { findPackageManager, pmArgv, type PackageManager } from './pkgmgr.js';
import { removeTree } from './remove.js';
import { ToolErrors } from './tool-errors.js';
import { nevra } from '../rpm/nevra.js';
import { reposOf } from '../config/dnfconf.js';
import { runSandboxed, type Bind, type SandboxSpec } from './sandbox.js';
import { discard, type RunOptions } from './process.js';
import { privateDir, SafeRoot } from '../util/safe-fs.js';
import { bootstrapCertBinds, type CertBind } from './bootstrap-certs.js';
import { systemCaBundle } from '../net/transport.js';

/** Where Fedora's configs find their keys (gpgkey=file://...); Mock copies it into the bootstrap. */
const distributionGpgKeys = '/usr/share/distribution-gpg-keys';

/** A bootstrap tree, unpacked once per image and shared read-only by every build. */
export interface BootstrapTree {
  /** The cached, unpacked image (lower layer of the overlay). */
  lower: string;
}

const skeletonDirs = [
  'var/lib/rpm',
  'var/lib/yum',
  'var/lib/dbus',
  'var/log',
  'var/cache/dnf',
  'var/cache/yum',
  'etc/rpm',
  'tmp',
  'var/tmp',
  'etc/dnf',
  'etc/dnf/vars',
  'etc/yum.repos.d',
  'etc/yum',
  'proc',
  'sys',
  'dev',
];

const buildDirs = ['RPMS', 'SPECS', 'SRPMS', 'SOURCES', 'BUILD', 'BUILDROOT', 'originals'];

/** Package manager calls run with a throwaway HOME, so its .rpmmacros (read last) sets the rpmdb path. */
const installHome = 'installation-homedir';

/** A host directory bound into the buildroot for every command (Mock's bind_mount plugin). */
export interface BuildrootBind {
  source: string;
  /** Path inside the buildroot. */
  inside: string;
}

/** The per-root scratch of the bootstrap overlay (its upper and work layers). */
export function bootstrapScratchDir(config: BuildConfig): string {
  return join(config.basedir, `${config.root}-bootstrap`);
}

/** Mock's separator: rpm's --qf cannot end records with NUL. */
const tagSep = '|/@';

/**
 * The header tags isomock reads of installed packages: Mock's package_state
 * query (installed_pkgs.log) and its buildroot_lock query, in one rpm -qa.
 * All are tags rpm 4.18 and 6 both know (6 dropped PKGID and says so on
 * stderr only, exiting 0).
 */
const installedTags = [
  'name',
  'arch',
  'license',
  'version',
  'release',
  'epoch',
  'sigmd5',
  'sigpgp:pgpsig',
  'nevra',
  'buildtime',
  'size',
] as const;
export type InstalledHeader = Record<(typeof installedTags)[number], string>;

export class Buildroot {
  private foundPm?: PackageManager;
  /** The last installedHeaders() answer, dropped by every command that could change the rpm database. */
  private headers?: InstalledHeader[];
  /** Where the package manager and rpm queries run: '/' or the bootstrap's merged view. */
  private readonly toolTree: string;
  private readonly scratch: string;

  constructor(
    readonly config: BuildConfig,
    readonly logs: BuildLogs,
    readonly bootstrap?: BootstrapTree,
    private readonly binds: BuildrootBind[] = [],
  ) {
    this.scratch = bootstrapScratchDir(config);
    this.toolTree = bootstrap ? join(this.scratch, 'root') : '/';
  }

  /** The package manager, found on first use: a locked build from an rpm-only bootstrap needs none. */
  get pm(): PackageManager {
    this.foundPm ??= findPackageManager(this.config.pmConfig, this.bootstrap ? this.bootstrap.lower : '/', (m) =>
      this.logs.info(m),
    );
    return this.foundPm;
  }

  private rootBinds(rootPath: string): Bind[] {
    return this.binds.map((b) => ({ source: b.source, target: join(rootPath, b.inside), readOnly: true }));
  }

  get path(): string {
    return this.config.rootdir;
  }

  /** The buildroot's tree, for host-side operations that never follow a link planted in it. */
  get fs(): SafeRoot {
    return new SafeRoot(this.config.rootdir, ExitCode.chroot, 'the buildroot');
  }

  /** Host path of a path inside the buildroot. */
  inRoot(p: string): string {
    return join(this.config.rootdir, p);
  }

  /** The rpm database path the buildroot's rpm expects. */
  get dbpath(): string {
    return String(this.config.macros['%_dbpath'] ?? '/var/lib/rpm');
  }

  /** Removes the buildroot and the bootstrap scratch (never through a mount: see remove.ts). */
  async clean(): Promise<void> {
    await removeTree(this.config.rootdir);
    await removeTree(this.scratch);
  }

  /** Skeleton, package manager config, the installer's HOME: everything before the first install. */
  prepare(): void {
    mkdirSync(this.config.rootdir, { recursive: true });
    const fs = this.fs;
    for (const d of [...skeletonDirs, ...this.config.extraChrootDirs]) fs.mkdirs(d);
    // Sticky and world-writable, as the build user needs them even if no package owns them.
    for (const d of ['tmp', 'var/tmp']) fs.chmod(d, 0o1777);
    mkdirSync(this.config.cachedir + '/dnf_cache', { recursive: true });
    this.writeToolFiles(fs);
    this.writeResolver(fs);
  }

  /**
   * What the host's (or the bootstrap's) package manager and rpm read from
   * the buildroot as root: dnf.conf, and the HOME holding only .rpmmacros
   * (an ~/.rpmrc or ~/.popt there would run commands). Package scriptlets can
   * rewrite both, so they are written afresh before every such command.
   */
  private writeToolFiles(fs: SafeRoot): void {
    fs.writeFile('etc/dnf/dnf.conf', this.config.dnfConfText);
    fs.remove(installHome);
    fs.mkdirs(installHome, 0o700);
    fs.writeFile(`${installHome}/.rpmmacros`, `%_netsharedpath /proc:/sys\n%_dbpath ${this.dbpath}\n`);
  }

  /** Mock's rule: the host's resolver only for a networked build that asks for it; else empty. */
  private writeResolver(fs: SafeRoot): void {
    if (this.config.useHostResolv && this.config.rpmbuildNetworking && existsSync('/etc/resolv.conf')) {
      fs.writeFile('etc/resolv.conf', readFileSync('/etc/resolv.conf'));
      fs.writeFile('etc/hosts', readFileSync('/etc/hosts'));
      return;
    }
    fs.writeFile('etc/resolv.conf', '');
    fs.writeFile(
      'etc/hosts',
      '127.0.0.1 localhost localhost.localdomain\n::1 localhost localhost.localdomain localhost6 localhost6.localdomain6\n',
    );
  }

  /** file:// repositories and keys named in dnf.conf: bound into the bootstrap at the same path. */
  private localRepoPaths(): string[] {
    const paths = new Set<string>();
    for (const repo of reposOf(this.config.dnfConf)) {
      for (const url of [...repo.baseurl, ...repo.gpgkey]) {
        if (url.startsWith('file://')) paths.add(url.slice('file://'.length).replace(/\/+$/, ''));
      }
    }
    return [...paths].filter((p) => existsSync(p));
  }

  /**
   * A checked repo's file:// gpgkey must exist where the package manager
   * reads it (the host, or the bootstrap with the host's keys in it): one
   * clear error here rather than dnf's own several lines about it.
   */
  private checkGpgKeys(): void {
    for (const repo of reposOf(this.config.dnfConf)) {
      if (!repo.enabled || !repo.gpgcheck) continue;
      for (const url of repo.gpgkey) {
        // dnf expands $releasever, $basearch...: such a path is the package manager's to judge.
        if (!url.startsWith('file://') || url.includes('$')) continue;
        const path = url.slice('file://'.length);
        if (existsSync(path) || (this.bootstrap && existsSync(join(this.bootstrap.lower, path)))) continue;
        throw new IsomockError(`dnf.conf repo ${repo.id}: gpgkey ${url} does not exist`, ExitCode.config);
      }
    }
  }

  /**
   * The mount points the sandbox uses inside the buildroot (its /dev, /proc,
   * /sys, the dnf cache and the binds), made real directories here first: the
   * namespace's mkdir -p and mount resolve paths as root on the host's tree,
   * so a link a package planted (dev -> /etc) must be refused before it runs.
   */
  private checkMountPoints(): void {
    const fs = this.fs;
    for (const d of ['dev', 'proc', 'sys', 'var/cache/dnf']) fs.mkdirs(d);
    for (const b of this.binds) {
      if (statSync(b.source).isDirectory()) fs.mkdirs(b.inside);
      else {
        fs.mkdirs(dirname(b.inside));
        fs.lookup(b.inside); // refuses a link or a device in the file's place
      }
    }
  }

  /** The sandbox for a package manager or rpm call: host tools, or the bootstrap's, with the buildroot inside. */
  private toolSpec(argv: string[], extraBinds: Bind[] = []): SandboxSpec {
    this.checkMountPoints();
    this.writeToolFiles(this.fs);
    const root = this.config.rootdir;
    const env = {
      ...this.config.environment,
      ...this.config.proxyEnvironment,
      HOME: join(root, installHome),
      LC_MESSAGES: 'C.UTF-8',
    };
    const cacheBind: Bind = { source: join(this.config.cachedir, 'dnf_cache'), target: '' };
    if (!this.bootstrap) {
      return {
        argv,
        systemTrees: [root],
        binds: [{ ...cacheBind, target: join(root, 'var/cache/dnf') }, ...this.rootBinds(root), ...extraBinds],
        network: this.config.online,
        env,
      };
    }
    // The overlay's upper layer holds files copied up from the image (setuid ones too): root only.
    privateDir(this.scratch, ExitCode.bootstrap);
    const merged = this.toolTree;
    const inBoot = (p: string): string => join(merged, p);
    const hostKeys = existsSync(distributionGpgKeys);
    const binds: Bind[] = [
      { source: root, target: inBoot(root) },
      { ...cacheBind, target: inBoot(join(root, 'var/cache/dnf')) },
      ...this.rootBinds(inBoot(root)),
      // Mock copies the host's distribution-gpg-keys into the bootstrap (copy_distribution_gpg_keys): the same, read-only.
      ...(hostKeys ? [{ source: distributionGpgKeys, target: inBoot(distributionGpgKeys), readOnly: true }] : []),
      ...this.localRepoPaths()
        .filter((p) => !(hostKeys && p.startsWith(`${distributionGpgKeys}/`)))
        .map((p) => ({ source: p, target: inBoot(p), readOnly: true })),
      ...this.certBinds().map((b) => ({ source: b.source, target: inBoot(b.inside), readOnly: true })),
      ...(existsSync('/etc/resolv.conf')
        ? [{ source: '/etc/resolv.conf', target: inBoot('etc/resolv.conf'), readOnly: true }]
        : []),
      ...extraBinds.map((b) => ({ ...b, target: inBoot(b.target) })),
    ];
    return {
      argv,
      chroot: merged,
      overlay: { lower: this.bootstrap.lower, upper: join(this.scratch, 'upper'), work: join(this.scratch, 'work') },
      systemTrees: [merged, inBoot(root)],
      binds,
      network: this.config.online,
      env,
    };
  }

  /** The host's certificates dnf in the bootstrap reads (bootstrap-certs.ts): those that exist. */
  private certBinds(): CertBind[] {
    const options = { ...this.config.mockSsl, hostCaBundle: systemCaBundle() ?? '' };
    return bootstrapCertBinds(options, this.config.dnfConf).filter((b) => b.source && existsSync(b.source));
  }

  private pmCommand(subcommand: string[]): string[] {
    this.checkGpgKeys();
    const argv = pmArgv(
      this.pm,
      {
        installroot: this.config.rootdir,
        releasever: this.config.releasever ?? undefined,
        offline: !this.config.online,
        repoToggles: this.config.enableDisableRepos,
      },
      subcommand,
    );
    this.logs.debug(`Executing command: ${JSON.stringify(argv)}`);
    return argv;
  }

  /** Host files the package manager reads: bound at the same path into the bootstrap it runs in (the host sees them already). */
  hostFileBinds(files: string[]): Bind[] {
    return this.bootstrap ? files.map((f) => ({ source: f, target: f, readOnly: true })) : [];
  }

  /** Runs the package manager (install, builddep, ...) against the buildroot; output to root.log (and `output`). */
  async packageManager(
    subcommand: string[],
    extraBinds: Bind[] = [],
    output?: string[],
  ): Promise<{ changed: boolean }> {
    this.headers = undefined;
    const spec = this.toolSpec(this.pmCommand(subcommand), extraBinds);
    // dnf4 and dnf5 both say so when a transaction would install nothing.
    let nothingToDo = false;
    let noFileMatch: string | undefined;
    const said = new ToolErrors();
    const onLine = (line: string): void => {
      said.push(line);
      output?.push(line);
      if (/^Nothing to do\.?\s*$/.test(line)) nothingToDo = true;
      if (/^No match for argument: \//.test(line)) noFileMatch ??= line.trim();
      this.logs.echo(line);
    };
    const { code } = await runSandboxed(spec, { log: this.logs.root, onLine });
    if (code !== 0) {
      // dnf5 loads no filelists by default (Fedora's configs do not ask for them): say so, it is not a missing package.
      const hint =
        this.pm.name === 'dnf5' && noFileMatch
          ? ` (${noFileMatch}: dnf5 reads file lists only when dnf.conf's optional_metadata_types includes filelists)`
          : '';
      const quoted = said.quote();
      throw new IsomockError(
        `package manager failed (exit ${code}): ${subcommand.join(' ')}${hint}${quoted ? `: ${quoted}` : ''}; see ${join(this.logs.dir, 'root.log')}`,
        ExitCode.packageManager,
      );
    }
    return { changed: !nothingToDo };
  }

  /** A package manager query (repoquery); its stdout. */
  async repoquery(subcommand: string[]): Promise<string> {
    const { code, stdout } = await runSandboxed(this.toolSpec(this.pmCommand(subcommand)), {
      log: this.logs.root,
      capture: true,
    });
    if (code !== 0) {
      throw new IsomockError(
        `package manager query failed (exit ${code}); see ${join(this.logs.dir, 'root.log')}`,
        ExitCode.packageManager,
      );
    }
    return stdout;
  }

  /** rpm against the buildroot's database, run where the package manager runs (Mock's doOutChroot). */
  async rpm(args: string[], log: Writable = this.logs.root): Promise<string> {
    this.headers = undefined;
    const argv = ['/usr/bin/rpm', `--root=${this.config.rootdir}`, `--dbpath=${this.dbpath}`, ...args];
    const said = new ToolErrors();
    const { code, stdout } = await runSandboxed(this.toolSpec(argv), {
      log,
      capture: true,
      onLine: (l) => said.push(l),
    });
    if (code !== 0) {
      const quoted = said.quote();
      throw new IsomockError(
        `rpm ${args.join(' ')} failed (exit ${code}) in ${this.config.rootdir}${quoted ? `: ${quoted}` : ''}`,
        ExitCode.chroot,
      );
    }
    return stdout;
  }

  /**
   * Every installed package's tags (gpg-pubkey included), from one rpm -qa,
   * reused until the next command in or on the buildroot: installed_pkgs.log
   * and the lockfile, asked one after the other, cost one rpm start, not two.
   */
  async installedHeaders(): Promise<InstalledHeader[]> {
    if (this.headers) return this.headers;
    const format = installedTags.map((t) => `%{${t}}`).join(tagSep) + '\\n';
    const out = await this.rpm(['-qa', '--qf', format]);
    this.headers = out
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const values = line.split(tagSep);
        return Object.fromEntries(installedTags.map((t, i) => [t, values[i] ?? ''])) as InstalledHeader;
      });
    return this.headers;
  }

  /** NEVRAs installed in the buildroot (epoch shown when non-zero), gpg-pubkey left out, sorted. */
  async installed(): Promise<string[]> {
    const out = await this.rpm(['-qa', '--qf', '%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH}\\n'], discard);
    return out
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [name, epoch, version, release, arch] = line.split(' ') as [string, string, string, string, string];
        return { name, epoch: epoch === '(none)' ? null : epoch, version, release, arch };
      })
      .filter((p) => p.name !== 'gpg-pubkey')
      .map(nevra)
      .sort();
  }

  /** The build user and group, written into the buildroot's own passwd/group, and its home. */
  makeBuildUser(): void {
    const { chrootUser: user, chrootGroup: group, chrootUid: uid, chrootGid: gid, chroothome: home } = this.config;
    const fs = this.fs;
    const edit = (file: string, name: string, line: string): void => {
      const lines = (fs.readFile(file)?.toString('utf8') ?? '')
        .split('\n')
        .filter((l) => l && !l.startsWith(`${name}:`));
      fs.writeFile(file, [...lines, line].join('\n') + '\n');
    };
    edit('etc/group', group, `${group}:x:${gid}:`);
    edit('etc/passwd', user, `${user}:x:${uid}:${gid}::${home}:/bin/bash`);
    const topdir = String(this.config.macros['%_topdir'] ?? `${home}/build`);
    for (const d of [home, topdir, ...buildDirs.map((b) => join(topdir, b))]) {
      fs.mkdirs(d);
      fs.chown(d, uid, gid);
    }
    const macros = Object.entries(this.config.macros)
      .map(([k, v]) => `${k} ${v}`)
      .join('\n');
    fs.writeFile(join(home, '.rpmmacros'), macros + '\n', { owner: [uid, gid] });
  }

  /**
   * Copies a host file (named by the caller) into the buildroot, owned by the
   * build user; with noFollow only a regular file itself (a spec or source a
   * build user could have planted a link at, as kojid's sources in the root).
   */
  copyIn(hostPath: string, inside: string, noFollow = false): void {
    this.fs.copyIn(hostPath, inside, { owner: [this.config.chrootUid, this.config.chrootGid], noFollow });
  }

  /**
   * Runs a command inside the buildroot (chroot), as the build user unless
   * asRoot, with the network cut unless the config or caller allows it.
   */
  async runInside(
    argv: string[],
    options: {
      asRoot?: boolean;
      network?: boolean;
      log?: Writable;
      capture?: boolean;
      cwd?: string;
      interactive?: boolean;
      timeout?: RunOptions['timeout'];
    } = {},
  ): Promise<{ code: number; stdout: string }> {
    this.checkMountPoints();
    this.headers = undefined;
    const root = this.config.rootdir;
    const spec: SandboxSpec = {
      argv,
      chroot: root,
      systemTrees: [root],
      binds: this.rootBinds(root),
      network: options.network ?? this.config.rpmbuildNetworking,
      hostname: this.config.hostname ?? 'mock',
      user: options.asRoot ? undefined : { uid: this.config.chrootUid, gid: this.config.chrootGid },
      cwd: options.cwd ?? this.config.chroothome,
      env: this.config.environment,
    };
    this.logs.debug(`Executing command in ${root}: ${JSON.stringify(argv)}`);
    const log = options.log ?? this.logs.root;
    return runSandboxed(spec, {
      log,
      capture: options.capture,
      interactive: options.interactive,
      timeout: options.timeout,
      onLine: (l) => this.logs.echo(l),
    });
  }
}
