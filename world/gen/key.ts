/**
 * The world's cache key: what the generator is (its compiled code) and what
 * it wraps (the host's Debian package versions and rpm's version). Any change
 * gives a new world directory; old ones are never patched in place.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { exec } from './exec.js';

/** The generator's own compiled modules (this directory) plus the orchestrator beside it. */
const generatorDir = fileURLToPath(new URL('.', import.meta.url));
const orchestrator = fileURLToPath(new URL('../build.js', import.meta.url));

export async function worldKey(debVersions: Map<string, string>): Promise<string> {
  const hash = createHash('sha256');
  const modules = (await readdir(generatorDir)).filter((f) => f.endsWith('.js')).sort();
  for (const path of [...modules.map((f) => join(generatorDir, f)), orchestrator]) {
    hash
      .update(`${path.slice(path.lastIndexOf('/dist/'))}\0`)
      .update(await readFile(path))
      .update('\0');
  }
  for (const [deb, version] of [...debVersions].sort(([a], [b]) => a.localeCompare(b)))
    hash.update(`${deb}=${version}\n`);
  hash.update(await exec(['rpm', '--version']));
  return hash.digest('hex').slice(0, 16);
}
