/**
 * Mock's default plugins that write files into the result dir, at Mock's
 * hooks, with Mock's file names and content shape: hw_info (preinit:
 * hw_info.log), package_state (postyum: available_pkgs.log; postdeps:
 * installed_pkgs.log), expand_spec (postdeps: expanded-spec.txt) and
 * chroot_scan (postbuild, initfailed: chroot_scan/ or chroot_scan.tar.gz).
 * Which run is config/plugins.ts's decision (BuildConfig.plugins). Every
 * file is written through the result dir's SafeRoot; chroot_scan reads the
 * buildroot between commands with lstat only (links, devices and other
 * file systems are skipped, never followed).
 */
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { create as createTar } from 'tar';
import { ExitCode, IsomockError } from '../errors.js';
import type { Buildroot } from './buildroot.js';
import { discard, run } from './process.js';

const hostEnv = { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', LANG: 'C.UTF-8' };

/** A host tool's stdout, '' when it fails (Mock's raiseExc=False). */
async function hostOutput(argv: string[]): Promise<string> {
  try {
    return (await run(argv, { env: hostEnv, log: discard, capture: true })).stdout;
  } catch {
    return '';
  }
}

/** hw_info's preinit hook: lscpu, free and df of the buildroot and the cache, as Mock lays them out. */
export async function writeHwInfo(br: Buildroot): Promise<void> {
  if (!br.config.plugins.hwInfo) return;
  br.logs.info('enabled HW Info plugin');
  const [cpu, memory, storage] = await Promise.all([
    hostOutput(['/usr/bin/lscpu']),
    hostOutput(['/usr/bin/free', '--human']),
    hostOutput(['/usr/bin/df', '-H', '-T', br.path, br.config.cacheTopdir]),
  ]);
  br.logs.fs.writeFile(
    'hw_info.log',
    `CPU info:\n${cpu}\n\nMemory:\n${memory}\n\nStorage (chroot, cache_topdir):\n${storage}`,
  );
}

/** package_state's postyum hook: every package the repositories offer, sorted. */
export async function writeAvailablePkgs(br: Buildroot): Promise<void> {
  if (!br.config.plugins.availablePkgs) return;
  await br.logs.step('Outputting list of available packages', async () => {
    const format = '%{name}-%{epoch}:%{version}-%{release}.%{arch} %{buildtime} %{size} %{repoid}\\n';
    const out = await br.repoquery(['repoquery', '--qf', format, '*']);
    const lines = out.split('\n').filter(Boolean).sort();
    br.logs.fs.writeFile('available_pkgs.log', lines.map((l) => `${l}\n`).join(''));
  });
}

/** package_state's postdeps hook: what the buildroot holds before %build. */
export async function writeInstalledPkgs(br: Buildroot): Promise<void> {
  if (!br.config.plugins.installedPkgs) return;
  await br.logs.step('Outputting list of installed packages', async () => {
    // Mock's query's fields; buildroot.ts asks rpm once for these and the lockfile's.
    const list = (await br.installedHeaders()).map((h) => `${h.nevra} ${h.buildtime} ${h.size} installed`);
    if (list.length === 0)
      throw new IsomockError('rpm -qa listed no installed package for installed_pkgs.log', ExitCode.build);
    br.logs.fs.writeFile('installed_pkgs.log', list.sort().join('\n') + '\n');
  });
}

/** expand_spec's postdeps hook: `rpmspec --parse` of the build's spec in the buildroot. */
export async function writeExpandedSpec(br: Buildroot, spec: string): Promise<void> {
  const plan = br.config.plugins.expandSpec;
  if (!plan) return;
  br.logs.info('Executing expand_spec plugin');
  const expanded = join(br.logs.dir, 'expanded-spec.txt');
  br.logs.info(`Expanding original spec: ${spec} to ${expanded}`);
  const { code, stdout } = await br.runInside(['/usr/bin/rpmspec', '--parse', spec, ...plan.rpmspecOpts], {
    capture: true,
    log: discard,
  });
  if (code !== 0) throw new IsomockError(`expand_spec: rpmspec --parse ${spec} failed (exit ${code})`, ExitCode.build);
  br.logs.fs.writeFile('expanded-spec.txt', stdout, { owner: [br.config.chrootUid, br.config.chrootGid] });
  br.logs.info(`Expanded specfile written to: ${expanded}`);
}

/** Paths (inside the root) of the regular files whose name matches, never through a link or into a mount. */
function scanFiles(rootdir: string, regexes: RegExp[]): string[] {
  const found: string[] = [];
  const dev = lstatSync(rootdir).dev;
  const visit = (rel: string): void => {
    for (const name of readdirSync(join(rootdir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(rootdir, path));
      if (st.dev !== dev) continue;
      if (st.isDirectory()) visit(path);
      else if (st.isFile() && regexes.some((r) => r.test(name))) found.push(path);
    }
  };
  visit('');
  return found;
}

/**
 * chroot_scan's postbuild / initfailed hook: matching files copied under
 * chroot_scan/ with their full host path (Mock's `cp --parents`), or packed
 * into chroot_scan.tar.gz with write_tar (the tar holds that same path).
 */
export async function scanChroot(br: Buildroot, failed: boolean): Promise<void> {
  const plan = br.config.plugins.chrootScan;
  if (!plan || (plan.onlyFailed && !failed) || !existsSync(br.path)) return;
  const base = br.fs.root.replace(/^\/+/, '');
  const files = scanFiles(br.fs.root, plan.regexes);
  if (files.length === 0) return;
  const out = join(br.logs.dir, 'chroot_scan');
  const owner: [number, number] = [br.config.chrootUid, br.config.chrootGid];
  for (const f of files) br.logs.fs.copyFrom(br.fs, f, `chroot_scan/${base}/${f}`, { owner });
  br.logs.info(`chroot_scan: ${files.length} files copied to ${out}`);
  br.logs.info(files.map((f) => join(br.fs.root, f)).join('\n'));
  if (!plan.writeTar) return;
  br.logs.info(`chroot_scan: creating tarball ${out}.tar.gz`);
  const chunks: Buffer[] = [];
  for await (const chunk of createTar({ gzip: true, cwd: '/', portable: true }, [out.replace(/^\/+/, '')]))
    chunks.push(chunk as Buffer);
  br.logs.fs.writeFile('chroot_scan.tar.gz', Buffer.concat(chunks), { owner });
  br.logs.fs.remove('chroot_scan');
}
