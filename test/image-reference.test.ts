import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IsomockError } from '../src/errors.js';
import { formatReference, parseReference } from '../src/image/reference.js';
import { findRegistry, loadRegistriesConf, resolveShortName } from '../src/image/registries-conf.js';
import { ociPlatform, selectFromIndex } from '../src/image/platform.js';
import { credentialsFor, loadAuthFile, parseChallenge } from '../src/image/auth.js';
import { imageDigest, podmanConfig } from '../src/image/inspect.js';
import { scratchRoot } from './helpers/registry.js';

test('references: registry with port, repository path, tag, digest, Docker Hub defaults', () => {
  assert.deepEqual(parseReference('127.0.0.1:5000/world/bootstrap:1'), {
    registry: '127.0.0.1:5000',
    repository: 'world/bootstrap',
    tag: '1',
  });
  assert.deepEqual(parseReference('127.0.0.1/world/bootstrap'), {
    registry: '127.0.0.1',
    repository: 'world/bootstrap',
    tag: 'latest',
  });
  assert.deepEqual(parseReference('registry.fedoraproject.org/fedora:rawhide'), {
    registry: 'registry.fedoraproject.org',
    repository: 'fedora',
    tag: 'rawhide',
  });
  const digest = `sha256:${'a'.repeat(64)}`;
  assert.deepEqual(parseReference(`quay.io/centos/centos@${digest}`), {
    registry: 'quay.io',
    repository: 'centos/centos',
    digest,
  });
  assert.deepEqual(parseReference(`localhost:5000/x:t@${digest}`), {
    registry: 'localhost:5000',
    repository: 'x',
    tag: 't',
    digest,
  });
  assert.deepEqual(parseReference('docker.io/alpine'), {
    registry: 'docker.io',
    repository: 'library/alpine',
    tag: 'latest',
  });
  assert.deepEqual(parseReference('alpine:3', 'docker.io'), {
    registry: 'docker.io',
    repository: 'library/alpine',
    tag: '3',
  });
  assert.equal(formatReference(parseReference('127.0.0.1:5000/a/b:c')), '127.0.0.1:5000/a/b:c');
  for (const bad of ['127.0.0.1:5000/UPPER:1', 'host.io/a:b:c', 'host.io/a@sha256:12', 'host.io/:tag', 'fedora']) {
    assert.throws(() => parseReference(bad), IsomockError, bad);
  }
});

test('registries.conf: drop-ins override, aliases, unqualified search, mirrors, insecure', () => {
  mkdirSync(scratchRoot, { recursive: true });
  const dir = mkdtempSync(join(scratchRoot, 'conf-'));
  try {
    const main = join(dir, 'registries.conf');
    writeFileSync(
      main,
      'unqualified-search-registries = ["first.example", "docker.io"]\n[aliases]\n"fedora" = "registry.fedoraproject.org/fedora"\n',
    );
    mkdirSync(`${main}.d`);
    writeFileSync(
      join(`${main}.d`, '50-local.conf'),
      '[[registry]]\nprefix = "first.example/team"\nlocation = "127.0.0.1:5001/mirrored"\ninsecure = true\n[[registry.mirror]]\nlocation = "127.0.0.1:5002"\n[aliases]\n"tool" = "127.0.0.1:5001/tools/tool"\n',
    );
    writeFileSync(join(`${main}.d`, '60-broken.txt'), 'ignored: not a .conf');
    const conf = loadRegistriesConf(main);
    assert.deepEqual(resolveShortName(conf, 'fedora:rawhide').map(formatReference), [
      'registry.fedoraproject.org/fedora:rawhide',
    ]);
    assert.deepEqual(resolveShortName(conf, 'tool').map(formatReference), ['127.0.0.1:5001/tools/tool:latest']);
    assert.deepEqual(resolveShortName(conf, 'busybox:1').map(formatReference), [
      'first.example/busybox:1',
      'docker.io/library/busybox:1',
    ]);
    const entry = findRegistry(conf, parseReference('first.example/team/app:1'));
    assert.equal(entry?.insecure, true);
    assert.equal(entry?.location, '127.0.0.1:5001/mirrored');
    assert.deepEqual(entry?.mirrors, [{ location: '127.0.0.1:5002', insecure: false }]);
    assert.equal(findRegistry(conf, parseReference('first.example/teamx/app')), undefined);
    writeFileSync(join(`${main}.d`, '70-bad.conf'), '[[registry]\n');
    assert.throws(() => loadRegistriesConf(main), /70-bad\.conf: not valid TOML \(line 1\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('platforms: rpm arches map to OCI, the index entry is chosen, a missing one is a clear error', () => {
  assert.deepEqual(ociPlatform('x86_64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(ociPlatform('aarch64'), { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(ociPlatform('i686'), { os: 'linux', architecture: '386' });
  assert.deepEqual(ociPlatform('armv7hl'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  const d = (architecture: string, variant?: string) => ({
    mediaType: 'm',
    size: 1,
    digest: `sha256:${architecture.padEnd(64, '0').slice(0, 64)}`,
    platform: { os: 'linux', architecture, ...(variant && { variant }) },
  });
  const list = [d('arm', 'v6'), d('arm', 'v7'), d('ppc64le'), d('s390x')];
  assert.equal(selectFromIndex('x', list, ociPlatform('armv7hl')).platform?.variant, 'v7');
  assert.equal(selectFromIndex('x', list, ociPlatform('s390x')).platform?.architecture, 's390x');
  assert.throws(
    () => selectFromIndex('127.0.0.1/x:1', list, ociPlatform('x86_64')),
    /127\.0\.0\.1\/x:1: no image for linux\/amd64 in the index \(it offers linux\/arm\/v6, linux\/arm\/v7, linux\/ppc64le, linux\/s390x\)/,
  );
});

test('auth.json and WWW-Authenticate challenges', () => {
  mkdirSync(scratchRoot, { recursive: true });
  const dir = mkdtempSync(join(scratchRoot, 'auth-'));
  try {
    const file = join(dir, 'auth.json');
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    writeFileSync(
      file,
      JSON.stringify({
        auths: { '127.0.0.1:5000': { auth: b64('u:p:x') }, '127.0.0.1:5000/team': { auth: b64('t:q') } },
      }),
    );
    const store = loadAuthFile(file);
    assert.deepEqual(credentialsFor(store, '127.0.0.1:5000', 'team/app'), { username: 't', password: 'q' });
    assert.deepEqual(credentialsFor(store, '127.0.0.1:5000', 'other'), { username: 'u', password: 'p:x' });
    assert.equal(credentialsFor(store, '127.0.0.1:5001', 'other'), undefined);
    assert.deepEqual(loadAuthFile(join(dir, 'missing.json')).size, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(
    parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'),
    {
      scheme: 'bearer',
      params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' },
    },
  );
  assert.deepEqual(parseChallenge('Basic realm=Registry'), { scheme: 'basic', params: { realm: 'Registry' } });
});

test("podman's trimmed Config and Mock's image_digest formula", () => {
  const config = {
    rootfs: { type: 'layers', diff_ids: ['sha256:0dd975ed08d161d3ea6e1279db95cd9a732c703b5ed70e5d4eac70a003d37d91'] },
    config: {
      Cmd: ['/bin/bash'],
      Env: [],
      Hostname: '',
      Labels: {},
      Volumes: null,
      exposedports: { '80/tcp': { x: 1 } },
    },
  };
  assert.deepEqual(podmanConfig(config), { Cmd: ['/bin/bash'], ExposedPorts: { '80/tcp': {} } });
  // The real Mock's lockfile for its sample image (mock-output/hello-synth): Cmd only.
  const mockSample = { rootfs: config.rootfs, config: { Cmd: ['/bin/bash'] } };
  assert.equal(imageDigest(mockSample), '1bf6d2c64a62b8e4a7de172509f12d31edcbe4908efd27795c3ec4503b6513a0');
});
