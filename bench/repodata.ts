/**
 * Parse and index a synthetic Fedora-sized primary.xml.gz: ~75,000 packages
 * with Fedora-like counts (~10 Requires, ~8 Provides, ~3 primary files each).
 * The parse runs in a child process so its peak RSS is the parser's own.
 */
import { createWriteStream, createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createGzip } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { decompress } from '../src/util/decompress.js';
import { readPrimary } from '../src/repo/primary.js';
import { PackageIndex } from '../src/repo/package-index.js';

const packageCount = 75_000;

function entries(tag: string, names: string[], pre = false): string {
  const body = names
    .map((n, i) =>
      i % 3 === 0
        ? `      <rpm:entry name="${n}" flags="GE" epoch="0" ver="1.${i}" rel="1.fc41"${pre && i === 0 ? ' pre="1"' : ''}/>`
        : `      <rpm:entry name="${n}"/>`,
    )
    .join('\n');
  return `    <rpm:${tag}>\n${body}\n    </rpm:${tag}>\n`;
}

function packageXml(i: number): string {
  const name = `pkg${i}-${(i * 7919).toString(36)}`;
  const arch = i % 5 === 0 ? 'noarch' : 'x86_64';
  const sum = createHash('sha256').update(name).digest('hex');
  const provides = [name, `${name}(x86-64)`, `lib${name}.so.1()(64bit)`, `lib${name}.so.1(V1)(64bit)`];
  for (let k = 0; k < 4; k++) provides.push(`bundled(${name}-part${k})`);
  const requires = ['/usr/bin/sh', 'libc.so.6()(64bit)', 'libc.so.6(GLIBC_2.34)(64bit)', 'rtld(GNU_HASH)'];
  for (let k = 0; k < 6; k++) requires.push(`lib${(i * 31 + k * 977) % packageCount}.so.1()(64bit)`);
  return `<package type="rpm">
  <name>${name}</name>
  <arch>${arch}</arch>
  <version epoch="${i % 11 === 0 ? 1 : 0}" ver="${1 + (i % 9)}.${i % 13}.${i % 7}" rel="${1 + (i % 4)}.fc41"/>
  <checksum type="sha256" pkgid="YES">${sum}</checksum>
  <summary>Synthetic package number ${i} for the repodata benchmark</summary>
  <description>This package stands in for a Fedora package of typical size. It carries a description of a few
sentences, like most real packages, so that the text handling in the parser is exercised realistically. &amp; entities too.</description>
  <packager>Fedora Project</packager>
  <url>https://example.invalid/${name}</url>
  <time file="1700000000" build="1699990000"/>
  <size package="${20000 + i}" installed="${80000 + i * 3}" archive="${81000 + i * 3}"/>
  <location href="Packages/${name[0]}/${name}-1.0-1.fc41.${arch}.rpm"/>
  <format>
    <rpm:license>MIT AND (BSD-3-Clause OR GPL-2.0-or-later)</rpm:license>
    <rpm:vendor>Fedora Project</rpm:vendor>
    <rpm:group>Unspecified</rpm:group>
    <rpm:buildhost>buildvm-x86-${i % 40}.example.invalid</rpm:buildhost>
    <rpm:sourcerpm>${name}-1.0-1.fc41.src.rpm</rpm:sourcerpm>
    <rpm:header-range start="4504" end="${20000 + (i % 5000)}"/>
${entries('provides', provides)}${entries('requires', requires, true)}${i % 4 === 0 ? entries('recommends', [`${name}-doc`]) : ''}    <file>/usr/bin/${name}</file>
    <file>/usr/lib64/lib${name}.so.1</file>
    <file type="dir">/etc/${name}</file>
  </format>
</package>
`;
}

async function writeSyntheticPrimary(path: string): Promise<void> {
  const gzip = createGzip();
  const done = once(gzip.pipe(createWriteStream(path)), 'finish');
  gzip.write(
    `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${packageCount}">\n`,
  );
  for (let i = 0; i < packageCount; i++) {
    if (!gzip.write(packageXml(i))) await once(gzip, 'drain');
  }
  gzip.end('</metadata>\n');
  await done;
}

/** In the child: parse, index, print figures. */
async function parseAndIndex(path: string): Promise<void> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const index = new PackageIndex();
  await readPrimary(decompress(createReadStream(path, { highWaterMark: 1 << 20 })), (pkg) => index.add(pkg));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  if (index.packages.length !== packageCount || index.whatProvides('/usr/bin/sh').length !== 0) {
    throw new Error('synthetic primary was not indexed as generated');
  }
  process.stdout.write(
    JSON.stringify({
      packages: index.packages.length,
      parseIndexSeconds: Number(seconds.toFixed(3)),
      // Wall time depends on what else the 2-core machine runs; CPU time less so.
      cpuSeconds: Number(((used.user + used.system) / 1e6).toFixed(3)),
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      heapUsedMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    }),
  );
}

export async function run(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'isomock-bench-repodata-'));
  try {
    const path = join(dir, 'primary.xml.gz');
    await writeSyntheticPrimary(path);
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), path], { encoding: 'utf8' });
    return {
      name: 'repodata-primary',
      compressedMB: Number((statSync(path).size / 2 ** 20).toFixed(1)),
      ...(JSON.parse(out) as Record<string, unknown>),
      aim: { parseIndexSeconds: 3, peakRssMB: 500 },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2]) await parseAndIndex(process.argv[2]);
