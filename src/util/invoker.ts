/**
 * The user isomock acts for, as Mock's uid manager finds it: run as root
 * through sudo (or consolehelper), SUDO_UID (USERHELPER_UID) names the
 * invoking user, whose uid Mock reads the config as (chrootuid); otherwise the
 * process's own uid.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import type { UserIds } from './as-user.js';

/** The gid of group `mock` from /etc/group, or undefined. */
export function mockGroupGid(): number | undefined {
  try {
    const line = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('mock:'));
    const gid = line === undefined ? NaN : Number(line.split(':')[2]);
    return Number.isInteger(gid) ? gid : undefined;
  } catch {
    return undefined;
  }
}

export function invokingUid(env: NodeJS.ProcessEnv = process.env): number {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) return uid;
  for (const value of [env['SUDO_UID'], env['USERHELPER_UID']]) {
    if (value !== undefined && /^\d+$/.test(value)) return Number(value);
  }
  return uid;
}

/**
 * The invoking user's home, as Mock finds it (`~` + the invoker's name): from
 * /etc/passwd when isomock runs as root for someone else (sudo resets HOME to
 * root's), else the process's own home.
 */
export function invokingHome(env: NodeJS.ProcessEnv = process.env): string {
  const uid = invokingUid(env);
  if (uid === (process.getuid?.() ?? 0)) return homedir();
  try {
    const entry = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .find((fields) => fields.length >= 7 && fields[2] === String(uid));
    if (entry?.[5]?.startsWith('/')) return entry[5];
  } catch {
    // No readable passwd file: the process's own home, as before.
  }
  return homedir();
}

/**
 * Whom the files named on the command line are read as (util/as-user.ts):
 * when isomock runs as root for another user (sudo's SUDO_UID), that user's
 * uid with group mock's gid, as Mock's uid manager drops to (nogroup without
 * a group mock); undefined when isomock acts for itself.
 */
export function invokerIds(env: NodeJS.ProcessEnv = process.env): UserIds | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = invokingUid(env);
  return uid === 0 ? undefined : { uid, gid: mockGroupGid() ?? 65534 };
}
