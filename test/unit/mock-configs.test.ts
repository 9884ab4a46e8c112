/**
 * Mock's own distribution configs read as the real Mock reads them: for every
 * config whose `--debug-config-expanded` output the shared reference holds
 * (mock-debug-config/, made by the real Mock from mock-core-configs/), every
 * key isomock prints equals Mock's, but the exemptions below, and a config
 * Mock rejects fails with Mock's exit code. The reference's run is reproduced
 * from its README: the invoking user's uid (SUDO_UID) and the RHEL key id;
 * the machine-dependent %_buildhost is compared with what Python's
 * socket.getfqdn() says here. Files only: nothing is fetched, nothing runs as
 * another user. Without the shared reference this test fails.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isomockBin } from '../helpers/isomock.js';
import { referenceDir } from '../helpers/paths.js';
import { renderDebugConfig } from '../../src/config/debug.js';
import { loadConfig, type LoadOptions } from '../../src/config/load.js';
import { IsomockError } from '../../src/errors.js';

const run = promisify(execFile);
const outputs = join(referenceDir, 'mock-debug-config');
const configs = join(referenceDir, 'mock-core-configs', 'etc', 'mock');

/** Keys not compared value for value, each with why; none defines the build. */
const exemptions: Record<string, { why: string; check: (mock: string, isomock: string) => void }> = {
  mock_run_uuid: {
    why: 'a fresh uuid4 for every run, in Mock too: checked to be a UUID',
    check: (_mock, isomock) =>
      assert.match(isomock, /^'[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'$/),
  },
  config_paths: {
    why: "Mock keeps it as list(set(...)), in Python's per-process string-hash order: compared as a set",
    check: (mock, isomock) => assert.deepEqual(quoted(isomock).sort(), quoted(mock).sort()),
  },
};

function quoted(pformatted: string): string[] {
  return [...pformatted.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
}

/** `config_opts['key'] = value` blocks of a --debug-config output, by key. */
function byKey(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let key: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^config_opts\['([^']+)'\] = (.*)$/.exec(line);
    if (m) out.set((key = m[1]!), m[2]!);
    else if (key !== undefined && line !== '') out.set(key, `${out.get(key)}\n${line}`);
  }
  return out;
}

const readme = readFileSync(join(outputs, 'README.md'), 'utf8');
const runUid = Number(/\(uid (\d+)/.exec(readme)?.[1]);
const rhelKeyId = /redhat_subscription_key_id=([\w-]+)/.exec(readme)?.[1];
const fqdnHere = execFileSync('python3', ['-c', 'import socket; print(socket.getfqdn())'], {
  encoding: 'utf8',
}).trim();

const scratch = mkdtempSync(join(tmpdir(), 'isomock-mock-configs-'));
// The CLI test below runs as under sudo (SUDO_UID): the configs are read as that user, who must reach them.
chmodSync(scratch, 0o755);
after(() => rmSync(scratch, { recursive: true, force: true }));
const home = join(scratch, 'home');
mkdirSync(home);

/**
 * The config directory as Mock ran it. The shared copy stores Mock's symlinks
 * (epel-10-*, fedora-45-*, ...) as files holding the target's name, as git
 * does without symlink support: those become symlinks again.
 */
const configDir = join(scratch, 'mock');
cpSync(configs, configDir, { recursive: true });
// The shared copy has no write bits: this copy is the test's own to change (an unprivileged run needs that).
for (const dir of [
  configDir,
  ...readdirSync(configDir, { recursive: true, encoding: 'utf8' }).map((f) => join(configDir, f)),
])
  if (lstatSync(dir).isDirectory()) chmodSync(dir, 0o755);
for (const name of readdirSync(configDir)) {
  const file = join(configDir, name);
  if (!lstatSync(file).isFile()) continue;
  const text = readFileSync(file, 'utf8');
  if (/^[\w.+-]+\.cfg$/.test(text) && existsSync(join(configDir, text))) {
    rmSync(file);
    symlinkSync(text, file);
  }
}

const names = existsSync(outputs)
  ? readdirSync(outputs)
      .filter((f) => f.endsWith('.exp.rc') && existsSync(join(configs, f.replace(/\.exp\.rc$/, '.cfg'))))
      .map((f) => f.replace(/\.exp\.rc$/, ''))
      .sort()
  : [];

function loadOptions(name: string): LoadOptions {
  const rhel = name.startsWith('rhel-') || name.startsWith('rhel+');
  return {
    root: name,
    configDir,
    home,
    uid: runUid,
    cmdline: rhel ? { configOpts: [`redhat_subscription_key_id=${rhelKeyId}`] } : {},
  };
}

test('the shared reference is there and its run conditions are readable', () => {
  assert.ok(existsSync(outputs), `${outputs} is missing`);
  assert.ok(names.length > 0, `no *.exp.rc in ${outputs}`);
  assert.ok(Number.isInteger(runUid) && runUid > 0, 'the README names the uid of the run');
  assert.ok(rhelKeyId, 'the README names the RHEL key id');
});

/** The keys whose value differs between Mock's output file and isomock's text (exemptions checked their way). */
function differences(mockFile: string, text: string): string[] {
  const mockText = readFileSync(mockFile, 'utf8')
    .replaceAll('@CONFIGDIR@', configDir)
    .replace(/'%_buildhost': '[^']*'/, `'%_buildhost': '${fqdnHere}'`);
  const mine = byKey(text);
  const mock = byKey(mockText);
  const bad: string[] = [];
  for (const key of new Set([...mine.keys(), ...mock.keys()])) {
    const a = mock.get(key);
    const b = mine.get(key);
    if (a === undefined || b === undefined) {
      bad.push(`${key} ${a === undefined ? 'only in isomock' : 'missing'}`);
      continue;
    }
    try {
      if (key in exemptions) exemptions[key]!.check(a, b);
      else assert.equal(b, a);
    } catch {
      bad.push(key);
    }
  }
  return bad;
}

test("every Mock config reads as Mock's --debug-config-expanded and --debug-config, key for key", () => {
  const failures: string[] = [];
  let matched = 0;
  for (const name of names) {
    const rc = Number(readFileSync(join(outputs, `${name}.exp.rc`), 'utf8'));
    let loaded;
    try {
      loaded = loadConfig(loadOptions(name));
    } catch (err) {
      if (err instanceof IsomockError && err.exitCode === rc && rc !== 0) matched++;
      else failures.push(`${name}: exit ${err instanceof IsomockError ? err.exitCode : String(err)}, Mock ${rc}`);
      continue;
    }
    if (rc !== 0) {
      failures.push(`${name}: loads, Mock exits ${rc}`);
      continue;
    }
    const buildhost = (loaded.raw['macros'] as Record<string, unknown>)['%_buildhost'];
    const bad = [
      ...(buildhost === fqdnHere ? [] : [`%_buildhost ${String(buildhost)} is not getfqdn() ${fqdnHere}`]),
      ...differences(join(outputs, `${name}.exp.out`), renderDebugConfig(loaded, { expanded: true })),
      ...differences(join(outputs, `${name}.raw.out`), renderDebugConfig(loaded)).map((k) => `${k} (raw)`),
    ];
    if (bad.length === 0) matched++;
    else failures.push(`${name}: ${bad.join(', ')}`);
  }
  assert.deepEqual(failures, [], `matched ${matched}/${names.length}`);
  assert.equal(matched, names.length);
});

test('the CLI prints what the library renders (one config, as the reference ran it)', async () => {
  const name = names.find((n) => n.startsWith('fedora-') && n.endsWith('-x86_64')) ?? names[0]!;
  const { stdout } = await run(isomockBin, ['--configdir', configDir, '-r', name, '--debug-config-expanded'], {
    env: { ...process.env, HOME: home, SUDO_USER: 'nobody', SUDO_UID: String(runUid), SUDO_GID: String(runUid) },
  });
  // SUDO_UID counts only for root (as for Mock under sudo): unprivileged, the CLI reads the config as itself.
  const uid = process.getuid!() === 0 ? runUid : process.getuid!();
  const expected = renderDebugConfig(loadConfig({ ...loadOptions(name), uid }), { expanded: true });
  const strip = (t: string): string => t.replace(/^config_opts\['mock_run_uuid'\].*\n/m, '');
  assert.equal(strip(stdout), strip(expected));
});

test('a RHEL config without a subscription key id stops as Mock stops (exit 3, one line)', async () => {
  const name = names.find((n) => n.startsWith('rhel-'))!;
  const r = await run(isomockBin, ['--configdir', configDir, '-r', name, '--debug-config'], {
    env: { ...process.env, HOME: home },
  }).then(
    (ok) => ({ code: 0, ...ok }),
    (err: { code: number; stdout: string; stderr: string }) => err,
  );
  if (existsSync('/etc/pki/entitlement')) {
    assert.ok(r.code === 0 || /No key found/.test(r.stderr), r.stderr);
    return;
  }
  assert.equal(r.code, 3, r.stderr);
  assert.equal(
    r.stderr,
    'isomock: error: /etc/pki/entitlement is not a directory is subscription-manager installed?\n',
  );
});
