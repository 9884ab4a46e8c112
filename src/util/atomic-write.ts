/**
 * Files that appear whole or not at all: written (or copied) under a
 * temporary name in the same directory, then renamed over the final name. On
 * any failure (ENOSPC, EIO, ...) the temporary file is removed and the final
 * name is left as it was; the error names the file and the cause.
 */
import { constants, copyFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ExitCode, IsomockError, type ExitCodeValue } from '../errors.js';

function atomically(dest: string, fill: (tmp: string) => void, exitCode: ExitCodeValue): void {
  const tmp = join(dirname(dest), `.${basename(dest)}.partial`);
  try {
    // Created O_EXCL (never through a link someone planted there); a stale one of ours goes first.
    rmSync(tmp, { force: true });
    fill(tmp);
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(tmp, { force: true });
    const e = err as NodeJS.ErrnoException;
    throw new IsomockError(`cannot write ${dest}: ${e.code ?? e.message}`, exitCode);
  }
}

export function writeFileAtomically(dest: string, content: string, exitCode: ExitCodeValue = ExitCode.resultDir): void {
  atomically(dest, (tmp) => writeFileSync(tmp, content, { flag: 'wx' }), exitCode);
}

export function copyFileAtomically(source: string, dest: string, exitCode: ExitCodeValue = ExitCode.resultDir): void {
  atomically(dest, (tmp) => copyFileSync(source, tmp, constants.COPYFILE_EXCL), exitCode);
}
