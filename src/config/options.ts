/**
 * The options isomock acts on, expanded and typed. Mock appends the
 * --uniqueext text to the root name when it sets up the buildroot, so the
 * paths here are expanded with that root name, as Mock's are.
 */
import { basearch, parseDnfConf, substituteVars, type DnfConf } from './dnfconf.js';
import { deepCopy, isDict, pyStr, truthy, type PyDict, type PyValue } from '../python/value.js';
import { configError } from './source.js';
import { expandedOption } from './template.js';

export interface MockOptions {
  root: string;
  targetArch: string;
  legalHostArches: string[];
  rpmbuildArch: string;
  repoArch: string;
  releasever: string | null;
  basedir: string;
  rootdir: string;
  resultdir: string;
  cacheTopdir: string;
  chroothome: string;
  packageManager: string;
  chrootSetupCmd: string[];
  useBootstrap: boolean;
  useBootstrapImage: boolean;
  bootstrapImage: string;
  bootstrapImageReady: boolean;
  bootstrapImageFallback: boolean;
  bootstrapImageAssertDigest: string | null;
  rpmbuildNetworking: boolean;
  isolation: string | null;
  online: boolean;
  dynamicBuildrequiresMaxLoops: number;
  macros: Record<string, string>;
  /** --enablerepo/--disablerepo in command-line order, e.g. ['--disablerepo', '*']. */
  enableDisableRepos: string[];
  /** The expanded dnf.conf text, then parsed with $basearch/$releasever (and dnf_vars) substituted. */
  dnfConfText: string;
  dnfConf: DnfConf;
}

/** A copy of raw with the --uniqueext root name, whose options expand on access as Mock's do. */
export function withUniqueRoot(raw: PyDict): PyDict {
  const config = deepCopy(raw) as PyDict;
  if (typeof config['unique-ext'] === 'string' && typeof config['root'] === 'string') {
    config['root'] = `${config['root']}-${config['unique-ext']}`;
  }
  return config;
}

/** `config`: withUniqueRoot(raw), when the caller already holds it. */
export function mockOptions(raw: PyDict, config: PyDict = withUniqueRoot(raw)): MockOptions {
  const get = (key: string): PyValue => expandedOption(config, key) ?? null;
  const text = (key: string): string => {
    const v = get(key);
    if (typeof v !== 'string') throw configError(`config_opts['${key}'] must be a string, not ${pyStr(v)}`);
    return v;
  };
  const optionalText = (key: string): string | null => (get(key) === null ? null : text(key));
  const strings = (key: string): string[] => {
    const v = get(key);
    if (typeof v === 'string') return v.split(/\s+/).filter((w) => w !== '');
    return Array.isArray(v) ? v.map((x) => pyStr(x)) : [];
  };
  const macros = get('macros');
  const targetArch = text('target_arch');
  const repoArch = optionalText('repo_arch') ?? targetArch;
  const releasever = get('releasever') === null ? null : pyStr(get('releasever'));
  const dnfConfText = text('dnf.conf');
  const dnfVars = get('dnf_vars');
  const vars: Record<string, string> = { basearch: basearch(repoArch), arch: repoArch };
  if (releasever !== null) vars['releasever'] = releasever;
  if (isDict(dnfVars)) for (const [k, v] of Object.entries(dnfVars)) vars[k] = pyStr(v);
  const maxLoops = get('dynamic_buildrequires_max_loops');
  return {
    root: text('root'),
    targetArch,
    legalHostArches: strings('legal_host_arches'),
    rpmbuildArch: optionalText('rpmbuild_arch') ?? targetArch,
    repoArch,
    releasever,
    basedir: text('basedir'),
    rootdir: text('rootdir'),
    resultdir: text('resultdir'),
    cacheTopdir: text('cache_topdir'),
    chroothome: text('chroothome'),
    packageManager: text('package_manager'),
    chrootSetupCmd: strings('chroot_setup_cmd'),
    useBootstrap: truthy(get('use_bootstrap')),
    useBootstrapImage: truthy(get('use_bootstrap_image')),
    bootstrapImage: text('bootstrap_image'),
    bootstrapImageReady: truthy(get('bootstrap_image_ready')),
    bootstrapImageFallback: truthy(get('bootstrap_image_fallback')),
    bootstrapImageAssertDigest: optionalText('bootstrap_image_assert_digest'),
    rpmbuildNetworking: truthy(get('rpmbuild_networking')),
    isolation: optionalText('isolation'),
    online: truthy(get('online')),
    dynamicBuildrequiresMaxLoops: typeof maxLoops === 'number' ? maxLoops : 10,
    macros: isDict(macros) ? Object.fromEntries(Object.entries(macros).map(([k, v]) => [k, pyStr(v)])) : {},
    enableDisableRepos: strings('enable_disable_repos'),
    dnfConfText,
    dnfConf: parseDnfConf(substituteVars(dnfConfText, vars)),
  };
}
