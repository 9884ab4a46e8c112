/** A world served on loopback, with its Mock config directory written for that port. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeMockConfigs, type Dnf5Variants } from './configs.js';
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
}

export async function serveWorld(world: WorldInfo, options: ServeWorldOptions = {}): Promise<ServedWorld> {
  const server = await serveDirectory(world.dir, options);
  const ownDir = options.configDir === undefined;
  const configDir = options.configDir ?? (await mkdtemp(join(tmpdir(), 'iso-world-cfg-')));
  try {
    const configs = await writeMockConfigs(configDir, server.url, world.manifest, options.bootstrapImage, options.dnf5);
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
