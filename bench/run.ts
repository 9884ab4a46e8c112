/**
 * Runs the benchmark modules in turn and prints their figures as one JSON
 * document: all of them, or those named on the command line
 * (`npm run bench -- build repodata`).
 */
import * as build from './build.js';
import * as image from './image.js';
import * as isolatedRepo from './isolated-repo.js';
import * as repodata from './repodata.js';
import * as transport from './transport.js';

const modules: Record<string, { run(): Promise<Record<string, unknown>> }> = {
  repodata,
  image,
  'isolated-repo': isolatedRepo,
  build,
  transport,
};
const wanted = process.argv.slice(2);
for (const name of wanted)
  if (!(name in modules)) throw new Error(`no benchmark '${name}'; there are: ${Object.keys(modules).join(', ')}`);

const results: Record<string, unknown>[] = [];
for (const [name, module] of Object.entries(modules))
  if (wanted.length === 0 || wanted.includes(name)) results.push(await module.run());
process.stdout.write(JSON.stringify({ node: process.version, results }, null, 2) + '\n');
