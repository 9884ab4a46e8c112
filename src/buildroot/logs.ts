/**
 * The logs a build leaves in its result directory, as Mock writes them:
 * state.log (steps with timestamps), root.log (package manager and chroot
 * set-up output), build.log (rpmbuild output), streamed as they happen.
 * The console (a stream the caller gives) gets progress lines unless --quiet,
 * and everything with --verbose.
 * The result directory may be writable by other users: every file in it is
 * opened through `fs` (safe-fs.ts), so a link planted there is refused, not followed.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { ExitCode, IsomockError } from '../errors.js';
import { SafeRoot } from '../util/safe-fs.js';

export type Verbosity = 'quiet' | 'normal' | 'verbose';

/** Mock's timestamp format: 2026-11-26 09:10:39,175 (local time). */
function logTimestamp(date = new Date()): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return (
    `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ` +
    `${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())},${p(date.getMilliseconds(), 3)}`
  );
}

export class BuildLogs {
  readonly state: WriteStream;
  readonly root: WriteStream;
  readonly build: WriteStream;
  /** The result directory, for every other file written there. */
  readonly fs: SafeRoot;
  private readonly started = new Map<string, number>();
  private failure: NodeJS.ErrnoException | undefined;
  /** Figures per step (seconds), for --json output and benchmarks. */
  readonly timings: { step: string; seconds: number }[] = [];

  constructor(
    readonly dir: string,
    readonly verbosity: Verbosity,
    /** Where progress lines go (the CLI: stderr); nowhere when absent. */
    private readonly console?: NodeJS.WritableStream,
    /** Who gets what is created in the result dir (Mock's chrootuid/chrootgid); root when absent. */
    owner?: [number, number],
  ) {
    mkdirSync(dir, { recursive: true });
    this.fs = new SafeRoot(dir, ExitCode.resultDir, 'the result directory', owner);
    // A log that cannot be written (ENOSPC, EIO) fails the build at its next step, as one line.
    const open = (name: string): WriteStream =>
      createWriteStream('', { fd: this.fs.openAppend(name) }).on('error', (err) => (this.failure ??= err));
    this.state = open('state.log');
    this.root = open('root.log');
    this.build = open('build.log');
  }

  /** A message for the user (and root.log, where Mock's INFO lines go). */
  info(message: string): void {
    this.root.write(`INFO: ${message}\n`);
    if (this.verbosity !== 'quiet') this.console?.write(`INFO: ${message}\n`);
  }

  /**
   * Something the user must know: on the console even with --quiet (Mock's -q
   * keeps its warnings) unless `evenQuiet` is false (isomock's own notices: with -q
   * a failure stays one line).
   */
  warning(message: string, evenQuiet = true): void {
    this.root.write(`WARNING: ${message}\n`);
    if (evenQuiet || this.verbosity !== 'quiet') this.console?.write(`WARNING: ${message}\n`);
  }

  debug(message: string): void {
    this.root.write(`DEBUG: ${message}\n`);
    if (this.verbosity === 'verbose') this.console?.write(`DEBUG: ${message}\n`);
  }

  /** Streams a child's output line to the console when verbose. */
  echo(line: string): void {
    if (this.verbosity === 'verbose') this.console?.write(`${line}\n`);
  }

  start(step: string): void {
    this.started.set(step, performance.now());
    this.state.write(`${logTimestamp()} - Start: ${step}\n`);
    if (this.verbosity !== 'quiet') this.console?.write(`Start: ${step}\n`);
  }

  finish(step: string): void {
    const began = this.started.get(step) ?? performance.now();
    const seconds = (performance.now() - began) / 1000;
    this.timings.push({ step, seconds });
    this.state.write(`${logTimestamp()} - Finish: ${step}\n`);
    if (this.verbosity !== 'quiet') this.console?.write(`Finish: ${step} (${seconds.toFixed(2)} s)\n`);
  }

  /** Runs fn as a named step: Start/Finish in state.log, even when fn throws. */
  async step<T>(step: string, fn: () => Promise<T>): Promise<T> {
    this.check();
    this.start(step);
    try {
      return await fn();
    } finally {
      this.finish(step);
      this.check();
    }
  }

  /** Throws once a log could not be written. */
  check(): void {
    if (this.failure) {
      throw new IsomockError(
        `cannot write the logs in ${this.dir}: ${this.failure.code ?? this.failure.message}`,
        ExitCode.resultDir,
      );
    }
  }

  /** The last word of an aborted build, in root.log and build.log (and on the console). */
  interrupted(reason: unknown): void {
    const line = `build interrupted (${reason instanceof Error ? reason.message : String(reason)}): stopping and cleaning up`;
    this.build.write(`${line}\n`);
    this.info(line);
  }

  async close(): Promise<void> {
    await Promise.all(
      [this.state, this.root, this.build].map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.destroyed) resolve();
            else s.once('error', () => resolve()).end(() => resolve());
          }),
      ),
    );
    this.check();
  }
}
