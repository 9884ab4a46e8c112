/**
 * Runs one command in fresh namespaces (mount, PID, UTS, IPC, and network
 * unless it is wanted), with every mount made inside the child's private
 * mount namespace: nothing is ever mounted on the host, so no mount can
 * outlive the command, whatever happens to isomock, and no process of the
 * command outlives isomock (the init below keeps its parent-death signal). Host tools only
 * (unshare, mount, cp, ln, chroot, ip), the way Mock's simple isolation works, plus
 * the namespaces Mock leaves out.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { run, type RunOptions, type RunResult } from './process.js';

export interface Bind {
  /** Host path to bind. */
  source: string;
  /** Host path of the mount point (inside a tree that a command will see). */
  target: string;
  readOnly?: boolean;
}

export interface SandboxSpec {
  /** The command, resolved inside `chroot` when given, else on the host. */
  argv: string[];
  /** Directory that becomes / for the command; undefined runs it on the host's tree (host dnf). */
  chroot?: string;
  /** Overlay mounted at `chroot` first: the cached read-only tree below, a scratch upper layer. */
  overlay?: { lower: string; upper: string; work: string };
  /** Trees that get a minimal /dev, a /proc of the new PID namespace and a read-only /sys. */
  systemTrees: string[];
  binds?: Bind[];
  /** Files mounted read-only over a path (e.g. an empty resolv.conf). */
  network: boolean;
  hostname?: string;
  /** Run as this user (after chroot); root otherwise. */
  user?: { uid: number; gid: number };
  /** Working directory inside the chroot. */
  cwd?: string;
  env: Record<string, string>;
}

/** Device nodes copied from the host into a tree's private /dev (made as Mock makes them: mknod, here by cp -a). */
const devices = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A path as /proc/self/mountinfo spells it (space, tab, newline and backslash octal-escaped). */
function mountinfoPath(path: string): string {
  return path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/** True when the host has a mount strictly below `path` (which an rbind of it carries along). */
function hasSubmounts(path: string): boolean {
  const prefix = `${mountinfoPath(realpathSync(path).replace(/\/+$/, ''))}/`;
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4]?.startsWith(prefix));
}

/**
 * Remounts every mount at or below dir with `flags` (ro...): after an rbind,
 * a remount changes only the top mount, and util-linux 2.38 has no
 * ro=recursive, so each submount is remounted by name from mountinfo, its
 * octal escapes undone by printf %b. A bind with no submount needs only the
 * one remount (the loop costs a read(2) per byte of mountinfo in sh, and a
 * mount(8) per match).
 */
function remountBelow(source: string, dir: string, flags: string): string {
  const opts = shellQuote(`remount,bind,${flags}`);
  if (!hasSubmounts(source)) return `mount -o ${opts} ${shellQuote(dir)}`;
  const p = shellQuote(mountinfoPath(dir));
  return (
    `while read -r _ _ _ _ mp _; do case "$mp" in ${p}|${p}/*) ` +
    `mount -o ${opts} "$(printf '%b' "$mp")";; esac; done < /proc/self/mountinfo`
  );
}

/**
 * A tree's /dev, /proc and /sys, in as few processes as the mounts allow (each
 * process start on this path is paid by every sandboxed command): /dev a
 * private tmpfs with Mock's device nodes, devpts, shm and links; /proc of the
 * new PID namespace; /sys a fresh read-only sysfs, which shows the namespace's
 * own network devices and nothing mounted under the host's /sys (no cgroup
 * tree), so no submount can be left writable.
 */
function systemTreeScript(tree: string): string[] {
  const t = shellQuote(tree);
  const q = (p: string): string => shellQuote(`${tree}/${p}`);
  return [
    `mkdir -p ${t}/dev ${t}/proc ${t}/sys`,
    `mount -t tmpfs -o mode=0755,nosuid,size=64m isomock-dev ${t}/dev`,
    `cp -a ${devices.map((d) => `/dev/${d}`).join(' ')} ${q('dev')}/`,
    `mkdir ${q('dev/pts')} ${q('dev/shm')}`,
    `mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts ${q('dev/pts')}`,
    `mount -t tmpfs -o mode=1777,nosuid,nodev isomock-shm ${q('dev/shm')}`,
    // Named after their targets' last component: dev/ptmx and dev/fd.
    `ln -s pts/ptmx /proc/self/fd ${q('dev')}/`,
    `ln -s /proc/self/fd/0 ${q('dev/stdin')} && ln -s /proc/self/fd/1 ${q('dev/stdout')} && ln -s /proc/self/fd/2 ${q('dev/stderr')}`,
    `mount -t proc -o nosuid,nodev,noexec proc ${t}/proc`,
    `mount -t sysfs -o ro,nosuid,nodev,noexec isomock-sys ${t}/sys`,
  ];
}

function bindScript(bind: Bind): string[] {
  const src = shellQuote(bind.source);
  const dst = shellQuote(bind.target);
  return [
    `if [ -d ${src} ]; then mkdir -p ${dst}; else mkdir -p ${shellQuote(dirname(bind.target))} && : >> ${dst}; fi`,
    `mount --rbind ${src} ${dst}`,
    ...(bind.readOnly ? [remountBelow(bind.source, bind.target, 'ro')] : []),
  ];
}

/**
 * Every path the script creates or mounts on inside the chroot, checked to
 * reach no symbolic link on its way there: mkdir -p, `: >>`, cp and mount
 * run as root on the host's tree, so a link in a bootstrap image or its upper
 * layer (etc -> /etc, dev -> /root) would send them outside the chroot.
 * realpath resolves them all in one process, in this namespace, after the
 * overlay is up and before anything is mounted on it; nothing else runs in
 * the namespace meanwhile. Paths inside a tree bound in later (the
 * buildroot's own) are checked from the host side first (buildroot.ts).
 */
function noLinkOnTheWay(spec: SandboxSpec): string[] {
  const chroot = spec.chroot!;
  const targets = [
    ...(spec.binds ?? []).map((b) => b.target),
    ...spec.systemTrees.flatMap((t) => ['dev', 'proc', 'sys'].map((d) => `${t}/${d}`)),
  ].filter((t) => t.startsWith(`${chroot}/`));
  if (targets.length === 0) return [];
  const expected = targets.map((t) =>
    t
      .slice(chroot.length + 1)
      .replace(/\/+/g, '/')
      .replace(/\/$/, ''),
  );
  const found = `"$(realpath -m --relative-to=${shellQuote(chroot)} -- ${targets.map(shellQuote).join(' ')})"`;
  const refusal = shellQuote(
    `error: refusing to mount inside ${chroot}: a symbolic link is on the way to a mount point`,
  );
  return [`[ ${found} = ${shellQuote(expected.join('\n'))} ] || { echo ${refusal} >&2; exit 1; }`];
}

/** The PID namespace's init (see sandboxScript). */
export const initCommand = ['/usr/bin/timeout', '--foreground', '0'];

/** The script the namespace's first process runs before it becomes the command. */
export function sandboxScript(spec: SandboxSpec): string {
  const lines = ['set -e', 'export PATH=/usr/sbin:/usr/bin:/sbin:/bin'];
  if (spec.overlay) {
    const { lower, upper, work } = spec.overlay;
    if (!spec.chroot) throw new Error('an overlay needs a chroot to mount at');
    lines.push(
      `mkdir -p ${shellQuote(upper)} ${shellQuote(work)} ${shellQuote(spec.chroot)}`,
      `mount -t overlay -o ${shellQuote(`lowerdir=${lower},upperdir=${upper},workdir=${work}`)} isomock-overlay ${shellQuote(spec.chroot)}`,
    );
  }
  if (spec.chroot) lines.push(...noLinkOnTheWay(spec));
  for (const bind of spec.binds ?? []) lines.push(...bindScript(bind));
  for (const tree of spec.systemTrees) lines.push(...systemTreeScript(tree));
  if (!spec.network) lines.push('ip link set lo up');
  if (spec.hostname) lines.push(`hostname ${shellQuote(spec.hostname)}`);
  lines.push(`export PATH=${shellQuote(spec.env['PATH'] ?? '/usr/bin:/bin:/usr/sbin:/sbin')}`);
  let argv = spec.argv;
  if (spec.cwd) argv = ['/bin/sh', '-c', 'cd "$0" && exec "$@"', spec.cwd, ...argv];
  if (spec.chroot) {
    const user = spec.user ? [`--userspec=${spec.user.uid}:${spec.user.gid}`, `--groups=${spec.user.gid}`] : [];
    argv = ['/usr/sbin/chroot', ...user, spec.chroot, ...argv];
  }
  // The namespace's init stays a root process that never changes credentials, so it keeps the
  // parent-death signal unshare gave it: when isomock dies, so does it, and the kernel then kills
  // every process of the namespace (a build user's rpmbuild included). timeout(1) with no limit
  // is that init: it runs the command as its child, passes signals on and returns its status.
  lines.push(`exec ${[...initCommand, ...argv].map(shellQuote).join(' ')}`);
  return lines.join('\n');
}

/** Runs the spec's command in its own namespaces; resolves with its exit code. */
export function runSandboxed(spec: SandboxSpec, options: Omit<RunOptions, 'env'>): Promise<RunResult> {
  const namespaces = ['--mount', '--uts', '--ipc', '--pid', '--fork', '--kill-child', '--propagation', 'private'];
  if (!spec.network) namespaces.push('--net');
  return run(['/usr/bin/unshare', ...namespaces, '/bin/sh', '-c', sandboxScript(spec)], {
    ...options,
    env: { ...spec.env, PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
}
