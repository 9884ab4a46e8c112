/**
 * `isomock isolated-repo` on the command line: options in, progress and a
 * summary on stderr, Mock's exit codes out. The work is the library's
 * `isolatedRepo` (commands/isolated-repo.ts).
 */
import { existsSync } from 'node:fs';
import { CommandLineError, ExitCode } from '../errors.js';
import { flag, list, str, type ParsedArgs } from './args.js';
import { isolatedRepo } from '../commands/isolated-repo.js';
import type { ClientCert, DownloadProgress } from '../repo/downloader.js';
import { defaultMinRate, defaultSizeCeiling, defaultTimeoutSeconds } from '../net/download-policy.js';
import { defaultJobs } from '../util/map-limit.js';
import { parseProxyUrl, ProxyConfigError, type ProxySettings } from '../net/proxy-choice.js';

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

function rate(bytes: number, seconds: number): string {
  return seconds > 0 ? `${mib(bytes / seconds)}/s` : '-';
}

function progressLine(p: DownloadProgress): string {
  const known = p.bytesKnown > p.bytesDone ? ` of ${mib(p.bytesKnown)} known` : '';
  return `isolated-repo: ${p.filesDone}/${p.filesTotal} files, ${mib(p.bytesDone)}${known} downloaded, ${rate(p.bytesDone, p.elapsedSeconds)}`;
}

function clientCerts(args: ParsedArgs): Map<string, ClientCert> {
  const certs = new Map<string, ClientCert>();
  for (const entry of (args.options.get('client-cert-for') ?? []) as string[][]) {
    const [host, cert, key] = entry;
    for (const file of [cert, key]) {
      if (file !== undefined && !existsSync(file))
        throw new CommandLineError(`--client-cert-for ${host}: ${file} does not exist`);
    }
    certs.set(host!, { cert: cert!, ...(key !== undefined && { key }) });
  }
  return certs;
}

/** --proxy URL: credentials belong in the environment (argv is visible to every user), never here. */
function proxyOption(args: ParsedArgs): ProxySettings | undefined {
  const text = str(args, 'proxy');
  if (text === undefined) return undefined;
  let proxy: ProxySettings;
  try {
    proxy = parseProxyUrl(text, '--proxy');
  } catch (err) {
    if (err instanceof ProxyConfigError) throw new CommandLineError(err.message);
    throw err;
  }
  if (proxy.username !== undefined)
    throw new CommandLineError(
      '--proxy: no credentials on the command line; put the URL with them in https_proxy/http_proxy',
    );
  return proxy;
}

function caCerts(args: ParsedArgs): string[] {
  const files = list(args, 'ca-cert');
  for (const file of files) if (!existsSync(file)) throw new CommandLineError(`--ca-cert ${file} does not exist`);
  return files;
}

/** A numeric option within [min, max] (whole when asked), or the default when absent. */
function numberOption(args: ParsedArgs, name: string, fallback: number, min: number, max: number, whole: boolean) {
  const text = str(args, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (
    text.trim() === '' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (whole && !Number.isInteger(value))
  )
    throw new CommandLineError(`--${name} ${text}: a ${whole ? 'whole ' : ''}number from ${min} to ${max} is needed`);
  return value;
}

/** The CLI: options in, progress and a summary on stderr, Mock's exit codes out. */
export async function isolatedRepoCommand(args: ParsedArgs): Promise<number> {
  const lockfile = str(args, 'lockfile');
  const outputRepo = str(args, 'output-repo');
  const isomockRecord = str(args, 'isomock-record');
  if (lockfile === undefined || outputRepo === undefined)
    throw new CommandLineError('isolated-repo needs --lockfile FILE and --output-repo DIR');
  if (args.positionals.length > 0)
    throw new CommandLineError(`isolated-repo: unexpected argument '${args.positionals[0]}'`);
  const jobs = numberOption(args, 'jobs', defaultJobs, 1, 64, true);
  const timeoutSeconds = numberOption(args, 'timeout', defaultTimeoutSeconds, 0.1, 3600, false);
  const minRate = numberOption(args, 'minrate', defaultMinRate, 0, 2 ** 40, true);
  const sizeCeiling = numberOption(args, 'max-size', defaultSizeCeiling, 1, 2 ** 50, true);
  const proxy = proxyOption(args);
  const quiet = flag(args, 'quiet');
  const tty = process.stderr.isTTY;
  let shown = 0;
  let finished = false;
  const say = (line: string): void => {
    if (!quiet) process.stderr.write(`${line}\n`);
  };
  const result = await isolatedRepo({
    lockfile,
    outputRepo,
    ...(isomockRecord !== undefined && { isomockRecord }),
    jobs,
    timeoutSeconds,
    minRate,
    sizeCeiling,
    allowLinkLocal: flag(args, 'allow-link-local'),
    clientCerts: clientCerts(args),
    ...(proxy && { proxy }),
    caCerts: caCerts(args),
    env: process.env,
    bootstrapTar: flag(args, 'bootstrap-tar'),
    gpgkeys: list(args, 'gpgkey'),
    requireSignatures: flag(args, 'require-signatures'),
    onNotice: say,
    onWarning: (line) => quiet || process.stderr.write(`WARNING: ${line}\n`),
    onProgress: (p) => {
      if (quiet) return;
      // A terminal gets one live line; a log gets a line every few seconds.
      const last = p.filesDone === p.filesTotal;
      if (finished) return;
      finished = last;
      if (tty) process.stderr.write(`\r${progressLine(p)}\x1b[K${last ? '\n' : ''}`);
      else if (last || p.elapsedSeconds - shown >= 5) {
        shown = p.elapsedSeconds;
        say(progressLine(p));
      }
    },
  });
  const image = result.image
    ? `; bootstrap image ${result.image.reused ? 'already in' : 'saved to'} ${result.image.dir}`
    : '';
  say(
    `isolated-repo: ${result.rpms} RPMs verified in ${result.dir} (${result.downloaded} downloaded, ${result.reused} already there), ` +
      `${mib(result.bytesDownloaded)} in ${result.downloadSeconds.toFixed(2)} s (${rate(result.bytesDownloaded, result.downloadSeconds)}); ` +
      `repodata ${result.repodataWritten ? 'written' : 'unchanged'}${image}; ` +
      (result.signatureKeys.length > 0
        ? `signatures good by ${result.signatureKeys.length === 1 ? 'the trusted key' : `one of ${result.signatureKeys.length} trusted keys`}`
        : 'signatures NOT checked'),
  );
  return ExitCode.ok;
}
