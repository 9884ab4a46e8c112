/** A world served on loopback, with its Mock config directory written for that port. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeMockConfigs, type Dnf5Variants, type Signing } from './configs.js';
import { serveDirectory, type ServeOptions, type StaticServer } from './server.js';
import type { WorldInfo } from './manifest.js';

export interface ServedWorld {
  world: WorldInfo;
  server: StaticServer;
  url: string;
  port: number;
  /** A Mock config directory (site-defaults.cfg + one .cfg per variant). */
  configDir: string;
  /** Chroot config names in configDir (`-r NAME`). */
  configs: string[];
  close(): Promise<void>;
}

export interface ServeWorldOptions extends ServeOptions {
  /** Where to write the configs (default: a fresh temp dir, removed on close). */
  configDir?: string;
  /** A bootstrap image reference for an extra config variant that uses it. */
  bootstrapImage?: string;
  /** The dnf5 config variants' image (and v6 repo), see configs.ts. */
  dnf5?: Dnf5Variants;
  /** Serve this directory instead of the world's (a signed world, world/signed.ts), with configs that check. */
  signed?: { dir: string; signing: Signing; v6?: string };
}

export async function serveWorld(world: WorldInfo, options: ServeWorldOptions = {}): Promise<ServedWorld> {
  const server = await serveDirectory(options.signed?.dir ?? world.dir, options);
  const ownDir = options.configDir === undefined;
  const configDir = options.configDir ?? (await mkdtemp(join(tmpdir(), 'iso-world-cfg-')));
  try {
    const v6 = options.signed?.v6;
    const dnf5 =
      options.dnf5 && v6 !== undefined ? { ...options.dnf5, v6RepoUrl: `${server.url}${v6}/` } : options.dnf5;
    const configs = await writeMockConfigs(
      configDir,
      server.url,
      world.manifest,
      options.bootstrapImage,
      dnf5,
      options.signed?.signing,
    );
    return {
      world,
      server,
      url: server.url,
      port: server.port,
      configDir,
      configs,
      async close() {
        await server.close();
        if (ownDir) await rm(configDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await server.close();
    throw err;
  }
}
