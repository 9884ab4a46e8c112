/**
 * Every process one isomock command starts, counted from strace's execve
 * record (successful calls only: PATH lookups that miss are not starts), each
 * program with the reason it is on the critical path. A program with no reason
 * here is reported as unjustified: the bench output shows it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { timedSpawn } from './timed-spawn.js';

const pmReason =
  "the package manager: chroot_setup_cmd (or, on a root restored from the root cache, Mock's update), then builddep per BuildRequires round (Mock does the same)";

const reasons: Record<string, string> = {
  isomock: 'the command itself',
  node: 'the command itself (bin/isomock runs on node)',
  flock: 'the root lock: flock(2) on a descriptor isomock opened (util/lock.ts; Node has no flock)',
  setpriv: 'each child gets a parent-death signal before it runs (process.ts)',
  unshare: 'each sandboxed command gets its own mount, PID, UTS, IPC (and network) namespaces',
  sh: 'the sandbox script, which makes the mounts inside the new namespace and then execs the command',
  mkdir: "mount points of the tree's /dev, /proc, /sys and binds (one call per tree and one inside /dev)",
  mount: 'one per file system or bind: /dev tmpfs, devpts, shm, proc, sysfs, each bind (+ its read-only remount)',
  cp: "the tree's device nodes, all in one cp -a (mknod, as Mock makes them)",
  ln: '/dev/ptmx and /dev/fd in one call, then stdin, stdout, stderr',
  ip: 'loopback up in a cut network namespace',
  hostname: "Mock's hostname inside the build's UTS namespace",
  timeout: "the PID namespace's init: a root process that keeps the parent-death signal",
  chroot: 'enters the buildroot or the bootstrap tree (as the build user for rpmbuild)',
  find: "the cached bootstrap tree's fingerprint, checked before it is reused",
  realpath:
    'one per sandboxed command in a chroot: every mount point inside it checked, in one call, to reach no symbolic link (sandbox.ts)',
  tar: "Mock's root_cache: a fresh buildroot packed into its cache tarball, or unpacked from it",
  pigz: "root_cache's compress program (Mock's default), started by tar",
  gzip: "root_cache's compress program when pigz is absent (Mock's fallback), started by tar",
  dnf: pmReason,
  'dnf-3': pmReason,
  dnf5: pmReason,
  lscpu: "Mock's hw_info plugin (on by default): hw_info.log's CPU section, once per chroot init",
  free: "Mock's hw_info plugin (on by default): hw_info.log's memory section, once per chroot init",
  df: "Mock's hw_info plugin (on by default): hw_info.log's storage section, once per chroot init",
  python3: "dnf4's interpreter",
  rpm: 'rpm -Uvh of the SRPM (Mock installs it so), then one rpm -qa for installed_pkgs.log and the lockfile',
  rpmbuild: 'rpmbuild -bs, one -br per dynamic BuildRequires round, then the build (Mock calls it the same way)',
  cat: "dyn-br-synth's %generate_buildrequires script (the package's own work)",
  bash: 'rpmbuild runs under bash --login -c as Mock runs it; rpmbuild runs its %prep/%build scripts in sh/bash',
};

export interface ProcessStart {
  program: string;
  count: number;
  reason: string;
}

/** Runs `bin args` under strace -f and returns each program it started, how often and why. */
export async function processStarts(bin: string, args: string[]): Promise<ProcessStart[]> {
  const dir = mkdtempSync(join(tmpdir(), 'isomock-bench-strace-'));
  try {
    const trace = join(dir, 'trace');
    await timedSpawn(['strace', '-f', '-qq', '-e', 'trace=execve', '-o', trace, bin, ...args]);
    const counts = new Map<string, number>();
    for (const line of readFileSync(trace, 'utf8').split('\n')) {
      const m = /execve\("([^"]+)".*\) = 0$/.exec(line);
      if (m) counts.set(basename(m[1]!), (counts.get(basename(m[1]!)) ?? 0) + 1);
    }
    return [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([program, count]) => ({
        program,
        count,
        reason: reasons[program] ?? 'UNJUSTIFIED',
      }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
