/**
 * The user isomock acts for, as Mock's uid manager finds it: run as root
 * through sudo (or consolehelper), SUDO_UID (USERHELPER_UID) names the
 * invoking user, whose uid Mock reads the config as (chrootuid); otherwise the
 * process's own uid.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';

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
