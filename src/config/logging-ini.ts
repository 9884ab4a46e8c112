/**
 * The log format strings Mock reads from logging.ini (setup_logging): the
 * `format` of the sections formatter_<build|root|state>_log_fmt_name, from
 * <config dir>/<log_config_file>, else /etc/mock/<log_config_file>. isomock
 * needs no logging.ini, so with neither present it uses the formats of the
 * logging.ini Mock ships. Read as Python's configparser reads (raw): `=` or
 * `:` separates, keys are case-insensitive, indented lines continue a value.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import { pyStr, type PyDict } from '../python/value.js';
import { expandedOption } from './template.js';

const mockFormatters: Record<string, string> = {
  state: '%(asctime)s - %(message)s',
  unadorned: '%(message)s',
  simple: '%(levelname)s: %(message)s',
  detailed: '%(levelname)s %(filename)s:%(lineno)d:  %(message)s',
};

/** The `format` value of every [formatter_NAME] section. */
function formatters(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let section: string | undefined;
  let key: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*[#;]/.test(line) || line.trim() === '') continue;
    const header = /^\[(.*)\]\s*$/.exec(line);
    if (header) {
      section = header[1]!.startsWith('formatter_') ? header[1]!.slice('formatter_'.length) : undefined;
      key = undefined;
      continue;
    }
    if (/^\s/.test(line) && key === 'format' && section !== undefined) {
      out[section] += `\n${line.trim()}`;
      continue;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    key = kv?.[1]!.trim().toLowerCase();
    if (kv && key === 'format' && section !== undefined) out[section] = kv[2]!.trim();
  }
  return out;
}

function readIni(configDir: string, name: string): { file: string; text: string } | undefined {
  for (const file of [join(configDir, name), join('/etc/mock', name)]) {
    try {
      return { file, text: readFileSync(file, 'utf8') };
    } catch {
      // Mock then tries /etc/mock; isomock then uses Mock's shipped formats.
    }
  }
  return undefined;
}

export function applyLogFormats(config: PyDict, configDir: string): void {
  const ini = readIni(configDir, pyStr(expandedOption(config, 'log_config_file') ?? 'logging.ini'));
  const table = ini ? formatters(ini.text) : mockFormatters;
  for (const log of ['build', 'root', 'state']) {
    const name = pyStr(expandedOption(config, `${log}_log_fmt_name`) ?? null);
    const format = table[name];
    // Mock exits 50 here too.
    if (format === undefined)
      throw new IsomockError(
        `Log config file (${ini?.file ?? 'built-in'}) missing required section: formatter_${name}`,
        ExitCode.missingArguments,
      );
    config[`${log}_log_fmt_str`] = format;
  }
}
