/**
 * Mock's --copyin and --copyout, in an initialized buildroot (Mock's
 * commands.init() first), with Mock's rules and messages (exit 50 for a
 * wrong argument list). The buildroot side is untrusted and goes through
 * SafeRoot only: a destination or source that is (or passes through) a link
 * planted in the root is refused, never followed; --copyout's globs are
 * matched component by component without following links, and a link found
 * there is refused (Mock would recreate it on the host). The host side is
 * the caller's: sources are read as named, and what --copyout writes
 * appears whole under its name (a file renamed into place, a tree built
 * under a temporary name), owned as Mock's unprivileged copy would own it.
 */
import { readdirSync, renameSync, statSync, lstatSync } from 'node:fs';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ExitCode, IsomockError } from '../errors.js';
import type { Buildroot } from '../buildroot/buildroot.js';
import { fnmatch, hasMagic } from '../util/fnmatch.js';
import { invokingUid } from '../util/invoker.js';
import { SafeRoot } from '../util/safe-fs.js';
import { lstatOrUndefined } from '../util/no-follow.js';
import { inBuildroot } from './chroot-session.js';
import type { ChrootRequest } from './chroot-ops.js';

const usageError = (message: string): IsomockError => new IsomockError(message, ExitCode.missingArguments);

/** Whether a path inside the buildroot lies in the build user's home (Mock chowns that tree to the build user). */
function inHome(br: Buildroot, rel: string): boolean {
  const home = posix.normalize(br.config.chroothome).replace(/\/$/, '');
  const p = posix.normalize(`/${rel}`);
  return p === home || p.startsWith(`${home}/`);
}

/** Copies a host file or tree (the caller's) to `rel` in the buildroot. */
function copyHostTree(br: Buildroot, src: string, rel: string): void {
  const owner: [number, number] | undefined = inHome(br, rel) ? [br.config.chrootUid, br.config.chrootGid] : undefined;
  if (!statSync(src).isDirectory()) {
    br.fs.copyIn(src, rel, owner ? { owner } : {});
    return;
  }
  br.fs.mkdirs(rel, statSync(src).mode & 0o7777);
  if (owner) br.fs.chown(rel, ...owner);
  for (const name of readdirSync(src).sort()) copyHostTree(br, join(src, name), `${rel}/${name}`);
}

/** --copyin SRC... DEST: host files and trees into the buildroot, as Mock's shutil.copy / copytree. */
export async function copyIn(req: ChrootRequest, args: string[]): Promise<void> {
  await inBuildroot(req, async ({ br }) => {
    if (args.length < 2) throw usageError('Must have source and destinations for copyin');
    const destRel = args[args.length - 1]!;
    const dest = br.fs.lookup(destRel);
    const sources = args.slice(0, -1);
    if (sources.length > 1 && dest?.kind !== 'dir')
      throw usageError(`multiple source files and ${br.inRoot(destRel)} is not a directory!`);
    for (const src of sources) {
      if (!lstatOrUndefined(src)) throw usageError(`No such file or directory: ${src}`);
      br.logs.info(`copying ${src} to ${br.inRoot(destRel)}`);
      let target = destRel;
      if (statSync(src).isDirectory()) {
        if (dest) {
          target = `${destRel}/${basename(resolve(src))}`;
          if (br.fs.lookup(target)) throw usageError(`Destination ${br.inRoot(target)} already exists!`);
        }
      } else if (dest?.kind === 'dir') target = `${destRel}/${basename(src)}`;
      else if (br.fs.lookup(posix.dirname(`/${destRel}`))?.kind !== 'dir')
        throw new IsomockError(`cannot copy ${src} to ${br.inRoot(destRel)}: no such directory`, ExitCode.chroot);
      copyHostTree(br, src, target);
    }
  });
}

/** The kind of what is at `rel`, links and special files included, never following one. */
function kindAt(br: Buildroot, rel: string): 'file' | 'dir' | 'other' | undefined {
  try {
    return br.fs.lookup(rel)?.kind;
  } catch {
    return 'other';
  }
}

/** Python's glob.glob of an absolute path inside the buildroot, matched without following any link. */
function globInRoot(br: Buildroot, pattern: string): string[] {
  let found = [''];
  const parts = br.fs.parts(pattern);
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    const next: string[] = [];
    for (const dir of found) {
      if (kindAt(br, dir) !== 'dir') continue;
      const names = hasMagic(part) ? br.fs.names(dir).filter((n) => fnmatch(n, part)) : [part];
      for (const name of names) {
        const rel = `${dir}/${name}`;
        const kind = kindAt(br, rel);
        if (kind === 'dir' || (last && kind !== undefined)) next.push(rel);
      }
    }
    found = next;
  }
  return parts.length === 0 ? ['/'] : found;
}

/** Copies the buildroot's file or tree `rel` to the host path `dest`, appearing whole or not at all. */
function copyOutOne(br: Buildroot, rel: string, dest: string, owner: [number, number]): void {
  const found = br.fs.lookup(rel);
  const destDir = lstatOrUndefined(dest)?.isDirectory() === true;
  if (found?.kind === 'file') {
    const [dir, name] = destDir ? [dest, posix.basename(rel)] : [dirname(dest), basename(dest)];
    new SafeRoot(dir, ExitCode.error, dir).copyFrom(br.fs, rel, name, { owner });
    return;
  }
  // shutil.copytree(src, dest): dest must not exist yet.
  if (lstatOrUndefined(dest)) throw usageError(`Destination ${dest} already exists!`);
  const parent = new SafeRoot(dirname(resolve(dest)), ExitCode.error, dirname(dest));
  const tmpName = `.${basename(dest)}.${randomBytes(6).toString('hex')}.isomock-tmp`;
  try {
    const tmp = new SafeRoot(parent.mkdirs(tmpName, 0o700), ExitCode.error, dest);
    for (const e of br.fs.list(rel, { recursive: true })) {
      if (e.kind === 'dir') {
        tmp.mkdirs(e.path);
        tmp.chown(e.path, ...owner);
      } else tmp.copyFrom(br.fs, `${rel}/${e.path}`, e.path, { owner });
    }
    tmp.chmod('', lstatSync(found!.abs).mode & 0o7777);
    tmp.chown('', ...owner);
    renameSync(tmp.root, resolve(dest));
  } catch (err) {
    parent.remove(tmpName);
    throw err;
  }
}

/** --copyout SRC... DEST: buildroot files (globs, `~` the build user's home) to the host. */
export async function copyOut(req: ChrootRequest, args: string[]): Promise<void> {
  await inBuildroot(req, async ({ br }) => {
    if (args.length < 2) throw usageError('Must have source and destinations for copyout');
    const dest = args[args.length - 1]!;
    const sources: string[] = [];
    for (const arg of args.slice(0, -1)) {
      // os.path.expanduser with HOME set to the build user's home, as Mock does.
      const path = arg === '~' || arg.startsWith('~/') ? br.config.chroothome + arg.slice(1) : arg;
      const matches = hasMagic(path) ? globInRoot(br, path) : kindAt(br, path) === undefined ? [] : [path];
      if (matches.length === 0) throw usageError(`${arg} not found`);
      sources.push(...matches);
    }
    if (sources.length > 1 && lstatOrUndefined(dest)?.isDirectory() !== true)
      throw usageError(`multiple source files and ${dest} is not a directory!`);
    const owner: [number, number] = [invokingUid(), br.config.chrootGid];
    for (const rel of sources) {
      br.logs.info(`copying ${br.inRoot(rel)} to ${dest}`);
      copyOutOne(br, rel, dest, owner);
    }
  });
}
