/**
 * User-facing failures. Every error that reaches the CLI carries one of Mock's
 * exit codes, so scripts written for Mock keep working with isomock.
 */
export const ExitCode = {
  ok: 0,
  error: 1,
  config: 3,
  badCmdline: 5,
  arch: 6,
  build: 10,
  /** Mock's commandTimeoutExpired: a command ran past its timeout (rpmbuild_timeout). */
  commandTimeout: 11,
  chroot: 20,
  packageManager: 30,
  /** Mock's run_command exits 50 when a mode is given without the arguments it needs. */
  missingArguments: 50,
  lockHeld: 60,
  resultDir: 70,
  bootstrap: 90,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error meant for the user: one message, no stack trace, a Mock exit code. */
export class IsomockError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.error,
  ) {
    super(message);
    this.name = 'IsomockError';
  }
}

export class CommandLineError extends IsomockError {
  constructor(message: string) {
    super(message, ExitCode.badCmdline);
    this.name = 'CommandLineError';
  }
}
