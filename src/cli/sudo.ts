/**
 * isomock for the members of group `mock`, as Mock's consolehelper serves
 * them (docs/security.md, "Group mock"). The unprivileged side: a member who
 * is not root runs the same launcher again through `sudo -n`, which the
 * sudoers drop-in of scripts/install-mock-group allows for that launcher
 * alone; sudo sets SUDO_UID, so the build user's uid is the member's
 * (util/invoker.ts). A caller outside the group runs isomock as it is.
 *
 * Signals sent to the launcher (Copr's timeout: SIGINT, SIGTERM, SIGKILL) go
 * on to sudo, which relays them to isomock. A SIGKILL cannot be relayed: the
 * root side watches the process that ran sudo and ends, as on SIGTERM, when
 * it is gone, so the root's lock is released for the --scrub that follows.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { exitCodeFor } from './signals.js';
import { mockGroupGid } from '../util/invoker.js';

/** Not root, and a member of group `mock` (primary or supplementary). */
export function goesThroughSudo(): boolean {
  if (process.getuid?.() === 0) return false;
  const gid = mockGroupGid();
  return gid !== undefined && (process.getgid?.() === gid || (process.getgroups?.() ?? []).includes(gid));
}

const relayed = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Runs `sudo -n -- launcher ...argv` and resolves with its exit status (128+n
 * when it died of signal n). With a terminal, sudo and isomock stay in the
 * terminal's foreground group (Ctrl-C reaches them itself, so SIGINT is not
 * relayed twice); without one they get their own group and every signal the
 * launcher receives is passed on once.
 */
export function runThroughSudo(launcher: string, argv: string[]): Promise<number> {
  const tty = process.stdin.isTTY === true;
  const child = spawn('sudo', ['-n', '--', launcher, ...argv], { stdio: 'inherit', detached: !tty });
  const listeners = relayed.map((sig) => {
    const listener = (): void => {
      if (!(tty && sig === 'SIGINT')) child.kill(sig);
    };
    process.on(sig, listener);
    return [sig, listener] as const;
  });
  return new Promise((resolve) => {
    const done = (code: number): void => {
      for (const [sig, listener] of listeners) process.off(sig, listener);
      resolve(code);
    };
    child.on('error', (err) => {
      process.stderr.write(`isomock: error: cannot run sudo: ${err.message}\n`);
      done(1);
    });
    child.on('close', (code, signal) => {
      done(code ?? exitCodeFor(signal ?? 'SIGKILL'));
    });
  });
}

/** A process's parent pid, command name and start time, from /proc (undefined once it is gone). */
function procStat(pid: number): { ppid: number; comm: string; start: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may hold spaces or ')': the fields after the last ')' are plain.
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    return { ppid: Number(fields[1]), comm: stat.slice(stat.indexOf('(') + 1, close), start: fields[19]! };
  } catch {
    return undefined;
  }
}

/**
 * Under sudo (root, SUDO_UID set, the parent is sudo): calls gone() once the
 * first ancestor that is not sudo - the caller - has exited. Returns a stop
 * function; does nothing elsewhere.
 */
export function watchSudoCaller(gone: () => void, everyMs = 500): () => void {
  if (process.getuid?.() !== 0 || process.env['SUDO_UID'] === undefined) return () => undefined;
  let pid = process.ppid;
  let stat = procStat(pid);
  if (stat?.comm !== 'sudo') return () => undefined;
  // sudo, then (with use_pty) its monitor, also named sudo.
  while (stat?.comm === 'sudo') {
    pid = stat.ppid;
    stat = procStat(pid);
  }
  if (stat === undefined || pid <= 1) return () => undefined;
  const start = stat.start;
  const timer = setInterval(() => {
    if (procStat(pid)?.start === start) return;
    clearInterval(timer);
    gone();
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
