/**
 * The user isomock acts for, as Mock's uid manager finds it: run as root
 * through sudo (or consolehelper), SUDO_UID (USERHELPER_UID) names the
 * invoking user, whose uid Mock reads the config as (chrootuid); otherwise the
 * process's own uid.
 */
export function invokingUid(env: NodeJS.ProcessEnv = process.env): number {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) return uid;
  for (const value of [env['SUDO_UID'], env['USERHELPER_UID']]) {
    if (value !== undefined && /^\d+$/.test(value)) return Number(value);
  }
  return uid;
}
