/**
 * The process's signals, owned by the CLI alone. The first SIGINT, SIGTERM
 * or SIGHUP aborts the command's AbortSignal: the library ends its children
 * gracefully and every cleanup runs; the CLI then exits 128+n. A second one
 * exits at once (the children die by their parent-death signal). While an
 * interactive session runs (--shell), SIGINT belongs to the terminal's
 * foreground process and is left to it. A command that takes no AbortSignal
 * yet exits at the first signal, as before.
 */
import { constants } from 'node:os';

const handled = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface SignalScope {
  signal: AbortSignal;
  /** The first signal received, if any. */
  received(): NodeJS.Signals | undefined;
  dispose(): void;
}

export function exitCodeFor(sig: NodeJS.Signals): number {
  return 128 + constants.signals[sig];
}

export function handleSignals(options: { leaveSigint: boolean; exitAtOnce: boolean }): SignalScope {
  const controller = new AbortController();
  let first: NodeJS.Signals | undefined;
  const listeners = handled.map((sig) => {
    const listener = (): void => {
      if (sig === 'SIGINT' && options.leaveSigint) return;
      if (first !== undefined || options.exitAtOnce) process.exit(exitCodeFor(sig));
      first = sig;
      controller.abort(sig);
    };
    process.on(sig, listener);
    return [sig, listener] as const;
  });
  return {
    signal: controller.signal,
    received: () => first,
    dispose: () => {
      for (const [sig, listener] of listeners) process.off(sig, listener);
    },
  };
}
