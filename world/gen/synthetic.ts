/**
 * Synthetic packages: each one exists to exercise a dependency feature a
 * resolver or lockfile must get right (see the comments per group).
 */
import type { PackageDef } from './model.js';

type SynthOptions = Partial<PackageDef> & Pick<PackageDef, 'summary'>;

function synth(name: string, version: string, options: SynthOptions): PackageDef {
  return {
    name,
    version,
    release: '1',
    arch: 'noarch',
    repo: 'base',
    signature: 'header',
    files: { [`/usr/share/${name}/version`]: `${version}\n` },
    ...options,
  };
}

function script(body: string): string {
  return `#!/bin/sh\n${body}\n`;
}

export const syntheticPackages: PackageDef[] = [
  // A versioned requirement with two versions available (only 2.0 fits).
  synth('synth-lib', '1.0', {
    summary: 'Synthetic library, old ABI',
    arch: 'x86_64',
    provides: ['synth-lib-abi = 1'],
    signature: 'header+payload',
  }),
  synth('synth-lib', '2.0', {
    summary: 'Synthetic library, new ABI',
    arch: 'x86_64',
    provides: ['synth-lib-abi = 2'],
    signature: 'header+payload',
  }),
  synth('synth-app', '1.0', {
    summary: 'Needs synth-lib >= 2.0, recommends synth-extra',
    arch: 'x86_64',
    files: { '/usr/bin/synth-app': script('echo synth-app') },
    requires: ['synth-lib >= 2.0'],
    // A weak dependency.
    recommends: ['synth-extra'],
  }),
  synth('synth-extra', '1.0', { summary: 'Recommended by synth-app' }),
  // A virtual provide with two providers.
  synth('synth-mta-a', '1.0', { summary: 'First provider of synth-mta', arch: 'x86_64', provides: ['synth-mta'] }),
  synth('synth-mta-b', '1.0', { summary: 'Second provider of synth-mta', provides: ['synth-mta'], signature: 'none' }),
  synth('synth-mailer', '1.0', { summary: 'Requires the virtual synth-mta', requires: ['synth-mta'] }),
  // Rich (boolean) dependencies.
  synth('synth-rich', '1.0', {
    summary: 'Rich dependencies',
    requires: ['(synth-mta-a or synth-mta-b)', '(synth-lib >= 2.0 if synth-app)'],
  }),
  // File dependencies: /usr/bin/* is listed in primary.xml, /usr/share/* only in filelists.xml.
  synth('synth-tool', '1.0', {
    summary: 'A tool in /usr/bin (updated in the updates repo)',
    arch: 'x86_64',
    signature: 'header+payload',
    files: { '/usr/bin/synth-tool': script('echo synth-tool 1.0') },
  }),
  synth('synth-tool', '1.1', {
    summary: 'A tool in /usr/bin (the update)',
    arch: 'x86_64',
    repo: 'updates',
    signature: 'header+payload',
    files: { '/usr/bin/synth-tool': script('echo synth-tool 1.1') },
  }),
  synth('synth-data', '1.0', {
    summary: 'Data file only visible in filelists.xml',
    files: { '/usr/share/synth-data/data.txt': 'synthetic data\n' },
  }),
  synth('synth-filedep', '1.0', {
    summary: 'Requires files by path',
    signature: 'none',
    requires: ['/usr/bin/synth-tool', '/usr/share/synth-data/data.txt'],
  }),
  // An epoch.
  synth('synth-epoch', '1.0', { summary: 'Has an epoch', epoch: 3 }),
  // Conflicts.
  synth('synth-conflict-a', '1.0', {
    summary: 'Conflicts with synth-conflict-b',
    conflicts: ['synth-conflict-b'],
    signature: 'none',
  }),
  synth('synth-conflict-b', '1.0', { summary: 'Conflicted by synth-conflict-a', signature: 'none' }),
  // Obsoletes.
  synth('synth-old', '1.0', { summary: 'Obsoleted by synth-new' }),
  synth('synth-new', '2.0', {
    summary: 'Replaces synth-old',
    obsoletes: ['synth-old < 2.0'],
    provides: ['synth-old = 2.0'],
  }),
  // Build dependencies of the sample SRPMs: the dynamic ones chain, so that
  // %generate_buildrequires needs two install rounds.
  synth('synth-devel', '2.0', { summary: 'Headers for synth-lib', arch: 'x86_64', requires: ['synth-lib = 2.0'] }),
  synth('synth-dyn-dep', '1.0', {
    summary: 'First-round dynamic build dependency',
    files: { '/usr/share/synth-dyn-dep/next': 'synth-dyn-dep2\n' },
  }),
  synth('synth-dyn-dep2', '1.0', { summary: 'Second-round dynamic build dependency' }),
];
