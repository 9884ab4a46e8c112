/**
 * Mock's --chain: SRPMs built in order in one config, each build's results
 * in a local repository (`<localrepo>/results/<chroot_name>/<NVR>/`,
 * createrepo_c over the whole) that the following builds install from
 * (`local_build_repo` in dnf.conf, as Mock's add_local_repo writes it). A
 * package whose result dir holds `success` is skipped; a failure writes
 * `fail` there and stops the chain unless `cont`; `recurse` retries the
 * failed ones while any other succeeds. Exit 4 when any failed, as Mock.
 * Library API: lines for the user go to `log`; an interruption (the
 * AbortSignal) ends the chain, it is never counted as a failed package.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename, join, normalize, resolve } from 'node:path';
import { ExitCode, IsomockError } from '../errors.js';
import { buildConfigFrom } from '../buildroot/build-config.js';
import { InterruptedError } from '../buildroot/process.js';
import { addLocalRepo } from '../config/cmdline.js';
import { pyStr, type PyDict } from '../python/value.js';
import { SafeRoot } from '../util/safe-fs.js';
import { runBuild, type BuildRequest } from './build.js';
import { makeRepodata } from './repodata.js';

export interface ChainRequest extends Pick<
  BuildRequest,
  'noClean' | 'nocheck' | 'verbosity' | 'signal' | 'bootstrap' | 'console'
> {
  /** The loaded config; the local repository is added to its dnf.conf. */
  rawConfig: PyDict;
  srpms: string[];
  /** --localrepo: the chain's directory (default: a new /var/tmp/mock-chain-PREFIX-PID-* directory). */
  localrepo?: string;
  /** --continue: go on after a failed package. */
  cont: boolean;
  /** --recurse (implies --continue): retry the failed packages while others succeed. */
  recurse: boolean;
  /** --tmp_prefix (default: the user's login name). */
  tmpPrefix?: string;
  log: (line: string) => void;
}

export interface ChainReport {
  localRepoDir: string;
  built: string[];
  skipped: string[];
  failed: string[];
  /** 0, or Mock's 4 when a package failed. */
  exitCode: number;
}

type Outcome = 'built' | 'failed' | 'skipped';

export async function runChain(req: ChainRequest): Promise<ChainReport> {
  const { log } = req;
  if (req.srpms.length === 0)
    throw new IsomockError('You must specify an SRPM file with --chain', ExitCode.missingArguments);
  const cont = req.cont || req.recurse;
  const prefix = `${req.tmpPrefix ?? userInfo().username}-${process.pid}`;
  const tmpDir = req.localrepo ? resolve(req.localrepo) : mkdtempSync(join('/var/tmp', `mock-chain-${prefix}-`));
  const raw = req.rawConfig;
  const localRepoDir = normalize(`${tmpDir}/results/${pyStr(raw['chroot_name'] ?? raw['root']!)}/`).replace(/\/$/, '');
  mkdirSync(localRepoDir, { recursive: true });
  log(`results dir: ${localRepoDir}`);
  addLocalRepo(raw, `file://${localRepoDir}`, 'local_build_repo');
  await makeRepodata(localRepoDir);
  const config = buildConfigFrom(raw);
  const repo = new SafeRoot(localRepoDir, ExitCode.resultDir, 'the chain repository');

  const buildOne = async (srpm: string): Promise<Outcome> => {
    if (!srpm.endsWith('.rpm')) {
      log(`${srpm} doesn't appear to be an rpm - skipping`);
      return 'failed';
    }
    log(`Start chain build: ${srpm}`);
    const pdn = basename(srpm).replace('.src.rpm', '');
    const resultdir = join(localRepoDir, pdn);
    let outcome: Outcome = 'built';
    if (existsSync(join(resultdir, 'success'))) outcome = 'skipped';
    else {
      try {
        const { noClean, nocheck, verbosity, signal, bootstrap, console } = req;
        await runBuild({
          ...{ noClean, nocheck, verbosity, signal, bootstrap, console },
          config: { ...config, resultdir },
          srpms: [srpm],
          calculateOnly: false,
        });
      } catch (err) {
        if (err instanceof InterruptedError || !(err instanceof IsomockError)) throw err;
        log(err.message);
        outcome = 'failed';
      }
    }
    log(`End chain build: ${srpm}`);
    if (outcome === 'failed') {
      log(`Error building ${basename(srpm)}.`);
      if (req.recurse) log('Will try to build again (if some other package will succeed).');
      else {
        log(`See logs/results in ${localRepoDir}`);
        if (existsSync(resultdir)) repo.writeFile(`${pdn}/fail`, '');
      }
    } else if (outcome === 'built') {
      log(`Success building ${basename(srpm)}`);
      repo.writeFile(`${pdn}/success`, '');
      await makeRepodata(localRepoDir);
    } else log(`Skipping already built pkg ${basename(srpm)}`);
    return outcome;
  };

  const built: string[] = [];
  const skipped: string[] = [];
  let failed: string[] = [];
  let toBuild = req.srpms;
  let exitCode = 0;
  for (let tries = 1; ; tries++) {
    failed = [];
    for (const srpm of toBuild) {
      if (failed.length > 0 && !cont) {
        log(
          `Stopping the --chain build because --continue isn't specified and the package '${failed[0]}' failed to build`,
        );
        break;
      }
      const outcome = await buildOne(srpm);
      (outcome === 'built' ? built : outcome === 'skipped' ? skipped : failed).push(srpm);
    }
    if (failed.length > 0 && req.recurse && failed.length !== toBuild.length) {
      toBuild = failed;
      log('Some package succeeded, some failed.');
      log(`Trying to rebuild ${failed.length} failed pkgs, because --recurse is set.`);
      continue;
    }
    if (failed.length > 0 && req.recurse) {
      log(`Tried ${tries} times - following pkgs could not be successfully built:`);
      for (const f of failed) log(f);
    }
    if (failed.length > 0) exitCode = 4;
    break;
  }
  log(`Results out to: ${localRepoDir}`);
  if (skipped.length > 0) {
    log(`Packages skipped: ${skipped.length}`);
    for (const s of skipped) log(s);
  }
  log(`Packages built: ${built.length}`);
  if (built.length > 0) {
    log(
      failed.length > 0
        ? 'Some packages successfully built in this order:'
        : 'Packages successfully built in this order:',
    );
    for (const b of built) log(b);
  }
  return { localRepoDir, built, skipped, failed, exitCode };
}
