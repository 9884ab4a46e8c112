/** Runs every benchmark module in turn and prints their figures as one JSON document. */
import * as image from './image.js';
import * as isolatedRepo from './isolated-repo.js';
import * as repodata from './repodata.js';

const modules: { run(): Promise<Record<string, unknown>> }[] = [repodata, image, isolatedRepo];

const results: Record<string, unknown>[] = [];
for (const module of modules) results.push(await module.run());
process.stdout.write(JSON.stringify({ node: process.version, results }, null, 2) + '\n');
