/**
 * The demo world from the command line:
 *   node dist/world/cli.js build              builds (or reuses) it, prints its directory
 *   node dist/world/cli.js serve [--port N]   serves it on 127.0.0.1, prints {url, port, configdir},
 *                                             runs until SIGINT/SIGTERM
 */
import { parseArgs } from 'node:util';
import { ensureWorld } from './build.js';
import { serveWorld } from './serve.js';
import { ExitCode, IsomockError } from '../src/errors.js';

const usage = 'usage: node dist/world/cli.js build | serve [--port N]';

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { port: { type: 'string' } } });
  } catch (err) {
    throw new IsomockError(`${(err as Error).message}\n${usage}`, ExitCode.badCmdline);
  }
  const { positionals, values } = parsed;
  const command = positionals[0];
  if (positionals.length !== 1 || (command !== 'build' && command !== 'serve')) {
    throw new IsomockError(usage, ExitCode.badCmdline);
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new IsomockError(`--port: not a port: ${values.port}`, ExitCode.badCmdline);

  const world = await ensureWorld();
  if (command === 'build') {
    process.stdout.write(`${world.dir}\n`);
    return;
  }
  const served = await serveWorld(world, { port });
  process.stdout.write(
    `${JSON.stringify({ url: served.url, port: served.port, configdir: served.configDir, world: world.dir })}\n`,
  );
  const stop = (): void => {
    served.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof IsomockError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(err.exitCode);
  }
  throw err;
});
