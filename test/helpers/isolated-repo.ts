/**
 * Lockfiles for the isolated-repo tests, made from the served world without
 * running a build: each binary RPM's header gives the locked fields, the
 * server's URL gives the location.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serializeLockfile, type LockedBootstrap, type LockedRpm, type Lockfile } from '../../src/lockfile/lockfile.js';
import { lockfileSignature, readRpmPackage } from '../../src/rpm/package.js';
import type { Fault } from '../../world/server.js';
import { serveWorld, type ServedWorld } from './world.js';

export const scratch = '/tmp/iso-isorepo';

export interface WorldRpm {
  locked: LockedRpm;
  /** Path in the world directory (the oracle for the downloaded bytes). */
  source: string;
  /** Decoded URL path, as the server's fault map keys it. */
  urlPath: string;
  file: string;
}

/** The lockfile entry of the RPM at path, to be fetched from url. */
export async function lockedRpmOf(path: string, url: string): Promise<LockedRpm> {
  const info = await readRpmPackage(path);
  return {
    arch: info.arch,
    epoch: info.epoch === null ? null : String(info.epoch),
    license: info.license,
    name: info.name,
    release: info.release,
    sigmd5: info.sigmd5!,
    signature: lockfileSignature(info),
    url,
    version: info.version,
  };
}

/** Every binary RPM of the world (the newest and older builds alike: each has its own file). */
export async function worldRpms(served: ServedWorld): Promise<WorldRpm[]> {
  return Promise.all(
    served.world.manifest.packages.map(async (p) => {
      const source = join(served.world.dir, p.file);
      const locked = await lockedRpmOf(source, `${served.url}${p.file}`);
      return { locked, source, urlPath: `/${p.file}`, file: p.file.split('/').pop()! };
    }),
  );
}

export function lockfileOf(rpms: LockedRpm[], bootstrap?: { image: string; section: LockedBootstrap }): Lockfile {
  return {
    version: '1.1.0',
    buildroot: { rpms },
    ...(bootstrap && { bootstrap: bootstrap.section }),
    config: {
      target_arch: 'x86_64',
      legal_host_arches: ['x86_64'],
      dist: 'w1',
      package_manager: 'dnf4',
      ...(bootstrap && { bootstrap_image: bootstrap.image, bootstrap_image_ready: true }),
    },
  };
}

/** Writes data (a Lockfile, or any JSON for the bad-lockfile cases) and returns its path. */
export function writeLockfile(dir: string, name: string, data: Lockfile | unknown): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, typeof data === 'string' ? data : serializeLockfile(data as Lockfile));
  return path;
}

/** The world served for one test file, its RPMs, and a fresh scratch directory named `name`. */
export async function startWorld(
  name: string,
  faults?: Map<string, Fault>,
): Promise<{ served: ServedWorld; rpms: WorldRpm[]; work: string }> {
  const served = await serveWorld(faults ? { faults } : {});
  const rpms = await worldRpms(served);
  const work = join(scratch, name);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  return { served, rpms, work };
}

/** The end of startWorld's: the server stopped, the scratch directory gone. */
export async function stopWorld(served: ServedWorld | undefined, work: string | undefined): Promise<void> {
  await served?.close();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
}

/** The SHA-256 of a file (the test's own oracle, read whole). */
export const sha256File = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
