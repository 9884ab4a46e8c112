/**
 * The sandbox never follows a link inside the tree it chroots into: a
 * bootstrap image (or the upper layer its own tools wrote) that points a
 * mount point at the host must not make the namespace's mkdir, `: >>`, cp or
 * mount act on the host's files. Real namespaces, a real overlay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runSandboxed } from '../src/buildroot/sandbox.js';

async function sandboxIn(lower: string, scratch: string, binds: { source: string; inside: string }[]) {
  const merged = join(scratch, 'root');
  let said = '';
  const log = new Writable({
    write: (chunk: Buffer, _enc, done) => {
      said += chunk.toString();
      done();
    },
  });
  const result = await runSandboxed(
    {
      argv: ['/bin/true'],
      chroot: merged,
      overlay: { lower, upper: join(scratch, 'upper'), work: join(scratch, 'work') },
      systemTrees: [merged],
      binds: binds.map((b) => ({ source: b.source, target: join(merged, b.inside), readOnly: true })),
      network: false,
      env: {},
    },
    { log },
  );
  return { code: result.code, said };
}

test('a link in the chroot on the way to a mount point is refused, and nothing is written through it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'isomock-links-'));
  try {
    const victim = join(dir, 'victim');
    mkdirSync(victim);
    const hostFile = join(dir, 'resolv.conf');
    writeFileSync(hostFile, '');
    const cases: { name: string; plant: (lower: string) => void; binds: { source: string; inside: string }[] }[] = [
      {
        name: 'etc -> host dir, file bound at etc/resolv.conf',
        plant: (l) => symlinkSync(victim, join(l, 'etc')),
        binds: [{ source: hostFile, inside: 'etc/resolv.conf' }],
      },
      { name: 'dev -> host dir (the device nodes)', plant: (l) => symlinkSync(victim, join(l, 'dev')), binds: [] },
      {
        name: 'a relative link climbing out',
        plant: (l) => symlinkSync(`../../../../../../../../..${victim}`, join(l, 'usr')),
        binds: [{ source: dir, inside: 'usr/share/keys' }],
      },
    ];
    for (const [i, c] of cases.entries()) {
      const lower = join(dir, `lower${i}`);
      mkdirSync(lower);
      c.plant(lower);
      const { code, said } = await sandboxIn(lower, join(dir, `scratch${i}`), c.binds);
      assert.deepEqual(readdirSync(victim), [], `${c.name}: nothing written through the link`);
      assert.notEqual(code, 0, c.name);
      assert.match(said, /refusing to mount inside .*: a symbolic link is on the way to a mount point/, c.name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
