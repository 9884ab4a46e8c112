/**
 * Sample source packages, one per build situation a Mock-style builder meets.
 * Their BuildRequires are all satisfiable from the world's repos.
 */
import type { SrpmExpectation } from '../manifest.js';

export interface SampleDef {
  name: string;
  expect: SrpmExpectation;
  binaries: string[];
  dynamicRounds: number;
  /** A BuildRequires is a file listed only in filelists.xml (dnf5 needs `optional_metadata_types` to see it). */
  filelists?: boolean;
  /** The spec body after the Name/Version/Release/License preamble. */
  body: string;
}

/** The macro the network probe reads its port from (a --define overrides the default). */
export const netProbeMacro = 'net_probe_port';

const installNote = (name: string, file: string): string =>
  `install -D -m 0644 ${file} %{buildroot}/usr/share/${name}/${file}`;

export const samples: SampleDef[] = [
  {
    name: 'hello-synth',
    expect: 'builds',
    binaries: ['hello-synth'],
    dynamicRounds: 0,
    body: `Summary: Static BuildRequires only (versioned, virtual and file dependencies)
BuildRequires: synth-devel
BuildRequires: synth-lib >= 2.0
BuildRequires: synth-mta
BuildRequires: /usr/bin/synth-tool
%description
Builds with static BuildRequires only.
%build
synth-tool > hello.txt
cat /usr/share/synth-lib/version >> hello.txt
%install
${installNote('hello-synth', 'hello.txt')}
%files
/usr/share/hello-synth/hello.txt
`,
  },
  {
    name: 'dyn-br-synth',
    expect: 'builds',
    binaries: ['dyn-br-synth'],
    dynamicRounds: 2,
    body: `Summary: Dynamic BuildRequires needing two install rounds
BuildArch: noarch
%description
Its second round of generated BuildRequires is read from a file the first round installs.
%generate_buildrequires
echo synth-dyn-dep
if [ -r /usr/share/synth-dyn-dep/next ]; then cat /usr/share/synth-dyn-dep/next; fi
%build
cat /usr/share/synth-dyn-dep/next /usr/share/synth-dyn-dep2/version > dyn.txt
%install
${installNote('dyn-br-synth', 'dyn.txt')}
%files
/usr/share/dyn-br-synth/dyn.txt
`,
  },
  {
    name: 'multi-synth',
    expect: 'builds',
    binaries: ['multi-synth', 'multi-synth-libs', 'multi-synth-devel', 'multi-synth-doc'],
    dynamicRounds: 0,
    body: `Summary: Several subpackages
BuildRequires: synth-lib
%description
Main package.
%package libs
Summary: Libraries of multi-synth
%description libs
Libraries.
%package devel
Summary: Development files of multi-synth
Requires: %{name}-libs = %{version}-%{release}
%description devel
Development files.
%package doc
Summary: Documentation of multi-synth
BuildArch: noarch
%description doc
Documentation.
%build
for part in main libs devel doc; do echo "$part" > "$part.txt"; done
%install
for part in main libs devel doc; do install -D -m 0644 "$part.txt" "%{buildroot}/usr/share/multi-synth/$part.txt"; done
%files
/usr/share/multi-synth/main.txt
%files libs
/usr/share/multi-synth/libs.txt
%files devel
/usr/share/multi-synth/devel.txt
%files doc
/usr/share/multi-synth/doc.txt
`,
  },
  {
    name: 'filedep-synth',
    expect: 'builds',
    binaries: ['filedep-synth'],
    dynamicRounds: 0,
    filelists: true,
    body: `Summary: BuildRequires a file listed only in filelists.xml
BuildArch: noarch
BuildRequires: /usr/share/synth-data/data.txt
%description
Its build dependency is a path outside /usr/bin and /etc, which primary.xml does not list.
%build
cat /usr/share/synth-data/data.txt > filedep.txt
%install
${installNote('filedep-synth', 'filedep.txt')}
%files
/usr/share/filedep-synth/filedep.txt
`,
  },
  {
    name: 'net-probe-synth',
    expect: 'needs-network',
    binaries: ['net-probe-synth'],
    dynamicRounds: 0,
    body: `Summary: Its build opens a TCP connection to a loopback port
%{!?${netProbeMacro}:%global ${netProbeMacro} 9}
%description
The build fails when the network is cut (a new network namespace has no usable loopback).
%build
bash -c 'exec 3<>/dev/tcp/127.0.0.1/%{${netProbeMacro}}'
echo "reached 127.0.0.1:%{${netProbeMacro}}" > probe.txt
%install
${installNote('net-probe-synth', 'probe.txt')}
%files
/usr/share/net-probe-synth/probe.txt
`,
  },
  {
    name: 'fail-synth',
    expect: 'fails',
    binaries: [],
    dynamicRounds: 0,
    body: `Summary: Its build fails on purpose
BuildArch: noarch
%description
The build step exits 1.
%build
echo "fail-synth: failing on purpose" >&2
exit 1
%files
`,
  },
];

export function sampleSpec(sample: SampleDef): string {
  return `Name: ${sample.name}\nVersion: 1.0\nRelease: 1%{?dist}\nLicense: MIT\n${sample.body}`;
}
