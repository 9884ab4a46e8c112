/**
 * Apply an image's layers to a directory, as podman's storage would show the
 * image: whiteouts and opaque directories, hard links and symlinks, owners
 * then modes (chown clears setuid bits, so chmod comes after), directory
 * times set last. Nothing is ever written outside the target: a `..` path,
 * a hard link leaving the tree or any write through a symlink is an error.
 * Work is synchronous per entry so the tar's order is the order on disk.
 */
import {
  chownSync, closeSync, constants, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync,
  openSync, readdirSync, rmSync, symlinkSync, utimesSync, writeSync, chmodSync, createReadStream, type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';
import { ExitCode, IsomockError } from '../errors.js';
import { decompressor } from './decompress.js';
import type { StoredImage } from './pull.js';
import type { BlobStore } from './store.js';

export interface UnpackStats {
  entries: number;
  /** Device and FIFO entries, which an unprivileged tree cannot hold and a chroot does not need. */
  skippedDevices: number;
}

const whiteoutPrefix = '.wh.';
const opaqueMarker = '.wh..wh..opq';
const asRoot = process.getuid?.() === 0;

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

class LayerApplier {
  /** Directory times, applied after every layer so later writes cannot move them. */
  readonly dirTimes = new Map<string, Date>();
  readonly stats: UnpackStats = { entries: 0, skippedDevices: 0 };
  private written = new Set<string>();

  constructor(readonly root: string) {}

  startLayer(): void {
    this.written = new Set();
  }

  private escape(where: string, path: string, why: string): IsomockError {
    return new IsomockError(`${where}: entry '${path}' ${why}`, ExitCode.bootstrap);
  }

  /** Tree-relative components of an entry path; '..' anywhere is an escape. */
  private components(where: string, path: string): string[] {
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw this.escape(where, path, 'escapes the target directory');
    return parts;
  }

  /** Make sure every parent of `parts` is a real directory inside the tree (never a symlink). */
  private parentDir(where: string, path: string, parts: string[]): string {
    let dir = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      dir = join(dir, parts[i]!);
      const st = lstatOrUndefined(dir);
      if (!st) {
        mkdirSync(dir, { mode: 0o755 });
        this.written.add(parts.slice(0, i + 1).join('/'));
      } else if (st.isSymbolicLink()) {
        throw this.escape(where, path, `would be written through the symlink '${parts.slice(0, i + 1).join('/')}'`);
      } else if (!st.isDirectory()) {
        throw this.escape(where, path, `has the non-directory '${parts.slice(0, i + 1).join('/')}' as a parent`);
      }
    }
    return dir;
  }

  private setOwnerMode(abs: string, entry: ReadEntry): void {
    if (asRoot) chownSync(abs, entry.uid ?? 0, entry.gid ?? 0);
    chmodSync(abs, (entry.mode ?? 0o755) & 0o7777);
  }

  /** Apply one entry; for regular files the returned callbacks receive the data. */
  apply(where: string, entry: ReadEntry): void {
    this.stats.entries++;
    const parts = this.components(where, entry.path);
    if (parts.length === 0) {
      entry.resume();
      return;
    }
    const rel = parts.join('/');
    const name = parts[parts.length - 1]!;
    const parent = this.parentDir(where, entry.path, parts);
    if (name === opaqueMarker) {
      this.makeOpaque(parent, parts.slice(0, -1).join('/'));
      entry.resume();
      return;
    }
    if (name.startsWith(whiteoutPrefix)) {
      rmSync(join(parent, name.slice(whiteoutPrefix.length)), { recursive: true, force: true });
      entry.resume();
      return;
    }
    const abs = join(parent, name);
    const existing = lstatOrUndefined(abs);
    this.written.add(rel);
    switch (entry.type) {
      case 'Directory':
        if (existing && !existing.isDirectory()) rmSync(abs, { recursive: true, force: true });
        if (!existing || !existing.isDirectory()) mkdirSync(abs, { mode: 0o700 });
        this.setOwnerMode(abs, entry);
        this.dirTimes.delete(abs);
        this.dirTimes.set(abs, entry.mtime ?? new Date(0));
        entry.resume();
        return;
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        if (existing) rmSync(abs, { recursive: true, force: true });
        this.writeFile(abs, entry);
        return;
      case 'SymbolicLink':
        if (existing) rmSync(abs, { recursive: true, force: true });
        symlinkSync(entry.linkpath ?? '', abs);
        if (asRoot) lchownSync(abs, entry.uid ?? 0, entry.gid ?? 0);
        if (entry.mtime) lutimesSync(abs, entry.mtime, entry.mtime);
        entry.resume();
        return;
      case 'Link': {
        const targetParts = this.components(where, entry.linkpath ?? '');
        const target = join(this.parentDir(where, entry.linkpath ?? '', targetParts), targetParts[targetParts.length - 1] ?? '');
        const st = lstatOrUndefined(target);
        if (!st || st.isDirectory() || targetParts.length === 0) throw this.escape(where, entry.path, `is a hard link to '${entry.linkpath}', which is not a file in the tree`);
        if (existing) rmSync(abs, { recursive: true, force: true });
        linkSync(target, abs);
        entry.resume();
        return;
      }
      case 'CharacterDevice':
      case 'BlockDevice':
      case 'FIFO':
        this.written.delete(rel);
        this.stats.skippedDevices++;
        entry.resume();
        return;
      default:
        this.written.delete(rel);
        entry.resume();
    }
  }

  private writeFile(abs: string, entry: ReadEntry): void {
    // O_EXCL|O_NOFOLLOW: the path was just cleared, so anything there now is hostile.
    const fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    entry.on('data', (chunk: Buffer) => {
      let off = 0;
      while (off < chunk.length) off += writeSync(fd, chunk, off);
    });
    entry.on('end', () => {
      if (asRoot) fchownSync(fd, entry.uid ?? 0, entry.gid ?? 0);
      fchmodSync(fd, (entry.mode ?? 0o644) & 0o7777);
      if (entry.mtime) futimesSync(fd, entry.mtime, entry.mtime);
      closeSync(fd);
    });
  }

  /** Hide what lower layers put in `dir`, keeping what this layer wrote there. */
  private makeOpaque(dir: string, rel: string): void {
    for (const child of readdirSync(dir)) {
      const childRel = rel === '' ? child : `${rel}/${child}`;
      if (!this.written.has(childRel)) rmSync(join(dir, child), { recursive: true, force: true });
    }
  }

  finish(): void {
    for (const [dir, mtime] of this.dirTimes) {
      // A later layer may have whited the directory out.
      if (lstatOrUndefined(dir)?.isDirectory()) utimesSync(dir, mtime, mtime);
    }
  }
}

/** A Writable feeding tar's parser, so pipeline() carries errors and backpressure. */
function parserSink(parser: Parser): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      if (parser.write(chunk)) done();
      else parser.once('drain', () => done());
    },
    final(done) {
      parser.once('end', () => done());
      parser.end();
    },
  });
}

/**
 * Unpack `layers` (blob files, bottom first) into `target`, which must exist.
 * `names` label each layer in error messages (its digest).
 */
export async function unpackLayers(target: string, layers: { file: string; name: string }[]): Promise<UnpackStats> {
  const applier = new LayerApplier(target);
  for (const layer of layers) {
    applier.startLayer();
    const where = `layer ${layer.name}`;
    let failure: unknown;
    const parser = new Parser({ strict: true });
    const sink = parserSink(parser);
    parser.on('entry', (entry: ReadEntry) => {
      if (failure) return entry.resume();
      try {
        applier.apply(where, entry);
      } catch (err) {
        failure = err;
        entry.resume();
        sink.destroy(err as Error);
      }
    });
    parser.on('error', (err: Error) => sink.destroy(new IsomockError(`${where}: not a valid tar stream: ${err.message}`, ExitCode.bootstrap)));
    try {
      await pipeline(createReadStream(layer.file, { highWaterMark: 1 << 20 }), decompressor(), sink);
    } catch (err) {
      const cause = failure ?? err;
      if (cause instanceof IsomockError) throw cause;
      throw new IsomockError(`${where}: cannot unpack: ${(cause as Error).message}`, ExitCode.bootstrap);
    }
  }
  applier.finish();
  return applier.stats;
}

/** Unpack a stored image's layers into `target`. */
export function unpackImage(store: BlobStore, image: StoredImage, target: string): Promise<UnpackStats> {
  return unpackLayers(target, image.manifest.layers.map((l) => ({ file: store.path(l.digest), name: l.digest })));
}
