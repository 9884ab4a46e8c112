/**
 * --list-chroots as Mock's list_configs() prints it: every *.cfg of the config
 * directory (Mock skips site-defaults.cfg and chroot-aliases.cfg only when the
 * directory is /etc/mock), sorted, then those of ~/.config/mock; each as its
 * name padded to 34 columns and the config's description, or Mock's
 * placeholder when the config does not load.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { IsomockError, ExitCode } from '../errors.js';
import { readConfigFiles, type LoadOptions } from './load.js';
import { comparePyStr, pyStr } from '../python/value.js';
import { expandedOption } from './template.js';

function configsIn(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.cfg'))
    .map((n) => join(dir, n))
    .sort(comparePyStr);
}

function describe(file: string, configDir: string, opts: LoadOptions): string {
  const name = file.slice(file.lastIndexOf('/') + 1).replace(/\.cfg$/, '');
  let description: string;
  try {
    const { raw } = readConfigFiles({ ...opts, root: file, configDir });
    description = 'description' in raw ? pyStr(expandedOption(raw, 'description')!) : '';
  } catch (err) {
    if (!(err instanceof IsomockError && err.exitCode === ExitCode.config)) throw err;
    description = 'error during parsing the config file';
  }
  return `${name.padEnd(34)} ${description}\n`;
}

export function listChroots(configDir: string, home: string, opts: LoadOptions = {}): string {
  const skip = ['/etc/mock/chroot-aliases.cfg', '/etc/mock/site-defaults.cfg'];
  let out = `${'config name'.padEnd(34)} description\nGlobal configs:\n`;
  for (const file of configsIn(configDir)) if (!skip.includes(file)) out += describe(file, configDir, opts);
  out += 'Custom configs:\n';
  for (const file of configsIn(join(home, '.config', 'mock'))) out += describe(file, configDir, opts);
  return out;
}
