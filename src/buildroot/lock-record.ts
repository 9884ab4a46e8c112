/**
 * What --calculate-build-dependencies records: every RPM in the buildroot
 * (as Mock queries it: rpm -qa with its fields, then the package manager's
 * repoquery --location for the URL), the config keys Mock keeps, and the
 * bootstrap image.
 */
import { ExitCode, IsomockError } from '../errors.js';
import {
  currentLockfileVersion,
  recordedConfigKeys,
  signatureFromPgpsig,
  type LockedBootstrap,
  type LockedRpm,
  type Lockfile,
} from '../lockfile/lockfile.js';
import type { JsonValue } from '../lockfile/python-json.js';
import type { Buildroot } from './buildroot.js';
import { withUniqueRoot } from '../config/options.js';
import { expandedOption } from '../config/template.js';
import { toJson, type PyDict } from '../config/pyvalue.js';

/** Mock's separator: rpm's --qf cannot end records with NUL. */
const sep = '|/@';
const fields = ['name', 'arch', 'license', 'version', 'release', 'epoch', 'sigmd5', 'signature'] as const;
const queryFormat = ['%{name}', '%{arch}', '%{license}', '%{version}', '%{release}', '%{epoch}', '%{sigmd5}', '%{sigpgp:pgpsig}'].join(sep) + '\\n';

type Queried = Omit<LockedRpm, 'url'>;

export async function queryInstalledForLock(br: Buildroot): Promise<Queried[]> {
  const out = await br.rpm(['-qa', '--qf', queryFormat]);
  return out
    .split('\n')
    .filter(Boolean)
    .sort()
    .map((line) => {
      const values = line.split(sep);
      const rec = Object.fromEntries(fields.map((f, i) => [f, values[i] ?? ''])) as Record<(typeof fields)[number], string>;
      return {
        name: rec.name,
        arch: rec.arch,
        license: rec.license,
        version: rec.version,
        release: rec.release,
        epoch: rec.epoch === '(none)' ? null : rec.epoch,
        sigmd5: rec.sigmd5,
        signature: signatureFromPgpsig(rec.signature),
      };
    })
    .filter((r) => r.name !== 'gpg-pubkey');
}

/** name.arch of a location URL, as Mock keys them: the basename's N-V-R.A.rpm. */
function nameArchOfUrl(url: string): string {
  const file = decodeURIComponent(url.split('/').pop() ?? '');
  const parts = file.split('.');
  const arch = parts[parts.length - 2] ?? '';
  const nvr = parts.slice(0, -2).join('.');
  const name = nvr.split('-').slice(0, -2).join('-');
  return `${name}.${arch}`;
}

export async function locate(br: Buildroot, rpms: Queried[]): Promise<Map<string, string>> {
  const nvras = rpms.map((r) => `${r.name}-${r.version}-${r.release}.${r.arch}`);
  const out = await br.repoquery(['repoquery', '-q', '--location', ...nvras]);
  const byNameArch = new Map<string, string>();
  for (const url of out.split('\n').map((l) => l.trim()).filter((l) => /^[a-z]+:\/\//.test(l))) {
    byNameArch.set(nameArchOfUrl(url), url);
  }
  return byNameArch;
}

/** Every URL must answer; a 4xx/5xx or a dead host here would only fail later, offline. */
async function checkUrls(urls: string[]): Promise<void> {
  const failures: string[] = [];
  await Promise.all(
    urls.map(async (url) => {
      if (url.startsWith('file://')) return;
      try {
        const res = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(30_000) });
        if (!res.ok) failures.push(`${url} (HTTP ${res.status})`);
      } catch (err) {
        failures.push(`${url} (${(err as Error).message})`);
      }
    }),
  );
  if (failures.length) {
    throw new IsomockError(`package locations do not answer: ${failures.sort().join(', ')}`, ExitCode.packageManager);
  }
}

export async function recordLockfile(
  br: Buildroot,
  rawConfig: PyDict,
  bootstrap?: LockedBootstrap,
): Promise<Lockfile> {
  const queried = await queryInstalledForLock(br);
  const locations = await locate(br, queried);
  const missing = queried.filter((r) => !locations.has(`${r.name}.${r.arch}`));
  if (missing.length) {
    throw new IsomockError(
      `cannot get the location of ${missing.map((r) => `${r.name}-${r.version}-${r.release}.${r.arch}`).join(', ')} from the configured repositories`,
      ExitCode.packageManager,
    );
  }
  const rpms: LockedRpm[] = queried.map((r) => ({ ...r, url: locations.get(`${r.name}.${r.arch}`)! }));
  await checkUrls(rpms.map((r) => r.url));
  const config: Record<string, JsonValue> = {};
  const expanded = withUniqueRoot(rawConfig);
  for (const key of recordedConfigKeys) {
    const value = expandedOption(expanded, key);
    if (value !== undefined) config[key] = toJson(value) as JsonValue;
  }
  // As Mock records them: typed as configured, with every --define and %_buildhost.
  config['macros'] = { '%_buildhost': br.config.macros['%_buildhost']!, ...(config['macros'] as Record<string, JsonValue>) };
  return {
    version: currentLockfileVersion,
    buildroot: { rpms },
    ...(bootstrap ? { bootstrap } : {}),
    config,
  };
}
