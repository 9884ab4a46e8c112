/**
 * The process runIsolatedBuild spawns in its new network namespace (a
 * process entry point, like the CLI): it proves the cut, then runs the
 * isolated build with the request the parent sent over its pipe.
 */
import { serveInNetworkCut } from '../buildroot/netcut.js';
import { isolatedBuildInCut, type IsolatedBuildRequest } from './isolated-build.js';

// Its stderr is the caller's (inherited): the progress lines go there, as the verbosity asks.
await serveInNetworkCut((input, proof, signal) =>
  isolatedBuildInCut(input as IsolatedBuildRequest, proof, signal, process.stderr),
);
