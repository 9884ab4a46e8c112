/**
 * Mock's root_cache plugin: a fresh buildroot, once set up, is packed into
 * `<dir>/cache.tar<extension>`, and a later fresh buildroot of the same root
 * is unpacked from it instead of being installed. What is Mock's: the file
 * name, the options (config/plugins.ts checks them), the validity rules
 * (root-cache-validity.ts), the excludes, `--one-file-system` and
 * `--exclude-caches*`, pigz falling back to gzip, the lock file
 * `rootcache.lock`, cache.log with the install's output.
 *
 * What isomock adds, for a root that builds untrusted SRPMs as root:
 * - the directory is root's alone (0700, not a link); the tarball is used
 *   only when lstat shows a regular file of isomock's user that no one else
 *   may write, and is written under a temporary name, fsynced and renamed
 *   into place, so it is whole or absent (Mock writes it in place);
 * - it is unpacked only into an empty buildroot directory (Mock unpacks over
 *   whatever a failed init left, links included) by GNU tar, which strips
 *   leading '/', refuses members and hard-link targets holding '..', and
 *   makes a link to an absolute or '..' target only after every other
 *   member, as a placeholder until then, so no member is written through a
 *   link of the archive (test/root-cache.test.ts unpacks a crafted one);
 * - owners are kept by number (--numeric-owner): the host's user names mean
 *   nothing inside the buildroot;
 * - the cache is written between commands, when no process of the build is
 *   alive in the root (tar never follows links while it packs).
 */
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import type { Compressor, RootCachePlan } from '../config/plugins.js';
import { takeLock, type HeldLock } from '../util/lock.js';
import { lstatOrUndefined, removeOwn } from '../util/no-follow.js';
import { privateDir, SafeRoot } from '../util/safe-fs.js';
import type { Buildroot } from './buildroot.js';
import { run } from './process.js';
import { removeTree } from './remove.js';
import { rootCacheVerdict, type CacheEntry } from './root-cache-validity.js';

const hostEnv = { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', LC_ALL: 'C.UTF-8' };
const tarBinary = '/usr/bin/tar';

/** The sparse logs Mock truncates before packing (they are huge holes in a tarball). */
const sparseLogs = ['var/log/lastlog', 'var/log/faillog'];

function entryOf(path: string): CacheEntry | undefined {
  const st = lstatOrUndefined(path);
  if (!st) return undefined;
  const kind = st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other';
  return { kind, uid: st.uid, mode: st.mode, ctimeMs: st.ctimeMs, mtimeMs: st.mtimeMs };
}

/** Mock's RootCache for one buildroot: the plan's paths, programs and lock. */
export class RootCache {
  readonly file: string;
  private readonly compress?: string;
  private readonly decompress?: string;

  constructor(
    private readonly br: Buildroot,
    private readonly plan: RootCachePlan,
    private readonly signal?: AbortSignal,
  ) {
    this.file = join(plan.dir, plan.fileName);
    let compress: Compressor | undefined = plan.compress;
    if (compress === 'pigz' && !existsSync('/bin/pigz')) {
      br.logs.warning("specified 'pigz' as the root cache compress program but not available; using gzip");
      compress = 'gzip';
    }
    this.compress = compress && `/usr/bin/${compress}`;
    const decompress = plan.decompress ?? compress;
    this.decompress = decompress && `/usr/bin/${decompress}`;
  }

  /** The cache directory made root's own, and its lock (Mock's rootcache.lock; waited for). */
  private lock(): Promise<HeldLock> {
    mkdirSync(dirname(this.plan.dir), { recursive: true });
    privateDir(this.plan.dir, ExitCode.chroot);
    return takeLock(join(this.plan.dir, 'rootcache.lock'), `root cache ${this.plan.dir}`, {
      waitMs: Infinity,
      onWait: () => this.br.logs.info('Waiting for rootcache lock'),
      ...(this.signal && { signal: this.signal }),
    });
  }

  private async tar(args: string[], what: string): Promise<void> {
    // tar's own complaints, not its notes on names it fixed or its closing summary.
    const said: string[] = [];
    const { code } = await run([tarBinary, ...args], {
      env: hostEnv,
      log: this.br.logs.root,
      onLine: (l) => {
        if (/^\S*tar: /.test(l) && !/Removing leading|Exiting with failure/.test(l))
          said.push(l.replace(/^\S*tar: /, 'tar: ').replace(/[^\x20-\x7e]+/g, ' '));
      },
    });
    if (code !== 0) {
      const quoted = said.slice(0, 3).join(' / ');
      throw new IsomockError(
        `cannot ${what} root cache ${this.file} (tar exit ${code})${quoted ? `: ${quoted}` : ''}; --scrub=root-cache removes it`,
        ExitCode.chroot,
      );
    }
  }

  /**
   * Mock's preinit hook, for a buildroot not initialized: the cache checked
   * (a stale one removed), then unpacked when valid. True when it was.
   */
  async restore(): Promise<boolean> {
    const { logs } = this.br;
    logs.info('enabled root cache');
    const lock = await this.lock();
    try {
      const configs = this.br.config.configPaths.flatMap((path) => {
        try {
          return [{ path, mtimeMs: statSync(path).mtimeMs }];
        } catch {
          return []; // Mock's check stops at a config it cannot stat (OSError)
        }
      });
      const verdict = rootCacheVerdict(
        this.plan,
        this.file,
        entryOf(this.file),
        configs,
        Date.now(),
        process.geteuid?.() ?? 0,
      );
      if (verdict.line) {
        if (!verdict.use && verdict.warn) logs.warning(verdict.line);
        else logs.info(verdict.line);
      }
      if (!verdict.use) {
        if (verdict.remove) removeOwn(this.file);
        return false;
      }
      await logs.step('unpacking root cache', async () => {
        // What a failed init left (links a scriptlet planted included) is not unpacked over.
        await removeTree(this.br.path);
        mkdirSync(this.br.path, { recursive: true, mode: 0o755 });
        const decompress = this.decompress ? [`--use-compress-program=${this.decompress}`] : [];
        try {
          await this.tar(['--numeric-owner', ...decompress, '-xf', this.file, '-C', this.br.path], 'unpack');
          const fs = this.br.fs;
          for (const d of this.plan.excludeDirs) fs.mkdirs(d);
        } catch (err) {
          // A half-unpacked root (its .initialized marker perhaps among what came) is never left to be reused.
          await removeTree(this.br.path).catch(() => undefined);
          throw err;
        }
      });
      return true;
    } finally {
      lock.release();
    }
  }

  /**
   * Mock's postinit hook (and postupdate): the buildroot packed into a
   * temporary file beside the cache, fsynced, renamed over it; cache.log
   * holds the install's output.
   */
  async create(installOutput: string): Promise<void> {
    const lock = await this.lock();
    const tmp = join(this.plan.dir, `.${this.plan.fileName}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const fs = this.br.fs;
      // Mock's nuke_rpm_db: Berkeley DB environment files are a previous rpm's, never the cache's.
      if (fs.lookup('var/lib/rpm')?.kind === 'dir')
        for (const name of fs.names('var/lib/rpm')) if (name.startsWith('__db')) fs.remove(`var/lib/rpm/${name}`);
      for (const log of sparseLogs) if (fs.lookup(log)?.kind === 'file') fs.writeFile(log, '');
      await this.br.logs.step('creating root cache', async () => {
        const compress = this.compress ? [`--use-compress-program=${this.compress}`] : [];
        const excludes = this.plan.excludeDirs.map((d) => `--exclude=${d}`);
        const args = ['--one-file-system', '--exclude-caches', '--exclude-caches-under', '--numeric-owner'];
        await this.tar([...args, ...compress, '-cf', tmp, '-C', this.br.path, ...excludes, '.'], 'create');
        const fd = openSync(tmp, 'r');
        try {
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        if (!lstatSync(tmp).isFile())
          throw new IsomockError(`root cache ${tmp} is not a regular file`, ExitCode.chroot);
        renameSync(tmp, this.file);
        new SafeRoot(this.plan.dir, ExitCode.chroot).writeFile('cache.log', installOutput, { mode: 0o644 });
      });
    } finally {
      removeOwn(tmp);
      lock.release();
    }
  }
}
