/**
 * Any error as the one line the user sees and the exit code that goes with
 * it: an IsomockError as it is; a system error (ENOSPC, EACCES, EMFILE,
 * EROFS, a missing tool, ...) with the operation and path it names; anything
 * else as an internal error. Never a stack trace.
 */
import { ExitCode, IsomockError, type ExitCodeValue } from '../errors.js';

export interface ErrorLine {
  message: string;
  exitCode: ExitCodeValue;
}

const meanings: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files (raise the limit: ulimit -n)',
  ENFILE: 'too many open files in the system',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ELOOP: 'a symbolic link where none is allowed',
  EIO: 'input/output error',
  EEXIST: 'already exists',
};

export function errorLine(err: unknown): ErrorLine {
  if (err instanceof IsomockError) return { message: err.message, exitCode: err.exitCode };
  const e = err as NodeJS.ErrnoException & { spawnargs?: string[]; dest?: string };
  if (e && typeof e === 'object' && typeof e.code === 'string' && typeof e.syscall === 'string') {
    const what = meanings[e.code] ?? e.message.split('\n')[0];
    if (e.syscall.startsWith('spawn')) {
      const tool = e.path ?? e.spawnargs?.[0] ?? '?';
      return { message: `cannot run ${tool}: ${what} (${e.code}); is it installed?`, exitCode: ExitCode.error };
    }
    const where = e.path ? ` ${e.path}${e.dest ? ` -> ${e.dest}` : ''}` : '';
    return { message: `${e.syscall}${where}: ${what} (${e.code})`, exitCode: ExitCode.error };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { message: `internal error: ${message.split('\n')[0]}`, exitCode: ExitCode.error };
}
