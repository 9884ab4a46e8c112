/**
 * Registry authentication against the real docker-registry: htpasswd basic
 * auth and bearer tokens from a token server, credentials found where podman
 * keeps them, podman and skopeo as oracles on the same auth.json, and blob
 * redirects to another host that must never carry the credentials.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IsomockError } from '../src/errors.js';
import { getImage, imageContext } from '../src/image/source.js';
import { buildImage, craftedTar, layerFromTar, pushImage, type BuiltImage } from '../world/images.js';
import { startTokenServer, type TokenServer } from '../world/token-server.js';
import { repoRoot } from './helpers/paths.js';
import { podmanRemove, startRegistry, type TestRegistry } from './helpers/registry.js';

const work = join('/tmp/iso-auth', `test-${process.pid}`);
const user = { name: 'alice', password: 's3cret' };
const nobody = 65534;
let open: TestRegistry;
let basic: TestRegistry;
let bearer: TestRegistry;
let tokens: TokenServer;
let image: BuiltImage;
/** Both auth registries marked insecure, for isomock. */
let registriesConf: string;
/** An XDG_RUNTIME_DIR holding containers/auth.json with alice's login for both registries. */
let xdg: string;
const podmanImages: string[] = [];

before(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  // The images go in through an open registry; the ones that want a login serve its storage.
  open = await startRegistry(5100);
  image = buildImage({
    layers: [
      layerFromTar(
        craftedTar([
          { path: 'etc', type: 'Directory' },
          { path: 'etc/motd', data: 'behind a login\n' },
        ]),
      ),
    ],
    architecture: 'amd64',
  });
  for (const repo of ['private/img', 'public/img']) await pushImage(open.host, repo, '1', image);
  tokens = await startTokenServer({
    port: 5103,
    dir: join(work, 'token'),
    users: { [user.name]: user.password },
    policy: (account, repository) => (repository.startsWith('public/') || account === user.name ? ['pull'] : []),
  });
  basic = await startRegistry(5101, {
    auth: { htpasswd: { [user.name]: user.password } },
    storage: open.dataDir,
    blobsOnPort: 5104,
  });
  bearer = await startRegistry(5102, { auth: { token: tokens }, storage: open.dataDir, blobsOnPort: 5105 });
  registriesConf = join(work, 'registries.conf');
  writeFileSync(
    registriesConf,
    [basic, bearer, open].map((r) => `[[registry]]\nlocation = "${r.host}"\ninsecure = true\n`).join('\n'),
  );
  xdg = join(work, 'xdg');
  mkdirSync(join(xdg, 'containers'), { recursive: true });
  const auth = Buffer.from(`${user.name}:${user.password}`).toString('base64');
  writeFileSync(
    join(xdg, 'containers', 'auth.json'),
    JSON.stringify({ auths: { [basic.host]: { auth }, [bearer.host]: { auth } } }),
  );
});

after(async () => {
  for (const ref of podmanImages) podmanRemove(ref);
  await bearer?.stop();
  await basic?.stop();
  await tokens?.stop();
  await open?.stop();
  rmSync(work, { recursive: true, force: true });
});

const authFile = () => join(xdg, 'containers', 'auth.json');
const context = (name: string, auth: string) =>
  imageContext({ arch: 'x86_64', storeDir: join(work, `store-${name}`), registriesConf, authFile: auth });
const noAuth = () => join(work, 'no-auth.json');

interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * A command run without blocking: the blob file servers answer from this
 * process, so a synchronous child would wait on them forever.
 */
function spawnAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', env, maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** A tool that must succeed; its stdout. */
async function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await spawnAsync(cmd, args, env);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The isomock CLI with the given environment (none of the caller's auth variables), optionally as another user. */
function isomock(args: string[], env: Record<string, string>, uid?: number): Promise<Result> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== 'REGISTRY_AUTH_FILE' && k !== 'XDG_RUNTIME_DIR'),
  );
  const bin = join(repoRoot, 'bin', 'isomock');
  const [cmd, argv] =
    uid === undefined ? [bin, args] : ['setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', bin, ...args]];
  return spawnAsync(cmd, argv, { ...base, CONTAINERS_REGISTRIES_CONF: registriesConf, ...env });
}

function expectDenied(err: unknown, host: string): boolean {
  assert.ok(err instanceof IsomockError, String(err));
  assert.equal(err.exitCode, 90);
  assert.match(err.message, new RegExp(`(^|\\s)${host.replace(/\./g, '\\.')}\\b`));
  return true;
}

test('basic auth: no credentials or a wrong password is a clear error (exit 90) naming the registry', async () => {
  const ref = `${basic.host}/private/img:1`;
  await assert.rejects(
    getImage(context('basic-none', noAuth()), ref, false),
    (err) => expectDenied(err, basic.host) && /wants a login/.test((err as Error).message),
  );
  const wrong = join(work, 'wrong-auth.json');
  writeFileSync(
    wrong,
    JSON.stringify({ auths: { [basic.host]: { auth: Buffer.from(`${user.name}:nope`).toString('base64') } } }),
  );
  await assert.rejects(
    getImage(context('basic-wrong', wrong), ref, false),
    (err) => expectDenied(err, basic.host) && /access denied .*HTTP 401/.test((err as Error).message),
  );
  const cli = await isomock(['image', 'inspect', ref, '--json'], {
    ISOMOCK_IMAGE_STORE: join(work, 'cli-none'),
    XDG_RUNTIME_DIR: join(work, 'empty-xdg'),
  });
  assert.equal(cli.status, 90, cli.stderr);
  assert.match(cli.stderr, /^isomock: error: 127\.0\.0\.1:5101 wants a login/);
  // The oracle needs the login too.
  assert.match(
    (await spawnAsync('skopeo', ['inspect', '--authfile', noAuth(), `docker://${ref}`])).stderr,
    /unauthorized|authentication required/,
  );
});

test('basic auth: credentials from ${XDG_RUNTIME_DIR}/containers/auth.json and $REGISTRY_AUTH_FILE; skopeo and podman agree', async () => {
  const ref = `${basic.host}/private/img:1`;
  const fromXdg = await isomock(['image', 'inspect', ref, '--json'], {
    ISOMOCK_IMAGE_STORE: join(work, 'cli-xdg'),
    XDG_RUNTIME_DIR: xdg,
  });
  assert.equal(fromXdg.status, 0, fromXdg.stderr);
  assert.equal(JSON.parse(fromXdg.stdout).pull_digest, image.manifestDigest);
  const named = join(work, 'named-auth.json');
  copyFileSync(authFile(), named);
  const fromEnv = await isomock(['image', 'pull', ref], {
    ISOMOCK_IMAGE_STORE: join(work, 'cli-env'),
    REGISTRY_AUTH_FILE: named,
    XDG_RUNTIME_DIR: join(work, 'empty-xdg'),
  });
  assert.equal(fromEnv.status, 0, fromEnv.stderr);
  assert.equal(fromEnv.stdout.trim(), image.manifestDigest);

  // skopeo finds the same file in the same place.
  assert.equal(
    JSON.parse(await run('skopeo', ['inspect', `docker://${ref}`], { ...process.env, XDG_RUNTIME_DIR: xdg })).Digest,
    image.manifestDigest,
  );
  // podman takes REGISTRY_AUTH_FILE as its --authfile default.
  podmanImages.push(ref);
  await run('podman', ['pull', '-q', ref], { ...process.env, REGISTRY_AUTH_FILE: named });
  assert.equal(JSON.parse(await run('podman', ['image', 'inspect', ref]))[0].Digest, image.manifestDigest);
});

test('bearer token: 401, token for the scope the registry names, 200; one token per repository', async () => {
  const ctx = context('bearer', authFile());
  const before = tokens.requests.length;
  const pulled = await getImage(ctx, `${bearer.host}/private/img:1`, true);
  assert.equal(pulled.manifestDigest, image.manifestDigest);
  // Manifest, config and layer all went with the one token.
  assert.deepEqual(tokens.requests.slice(before), [
    { service: tokens.service, scopes: ['repository:private/img:pull'], account: user.name },
  ]);
  await getImage(ctx, `${bearer.host}/public/img:1`, false);
  assert.deepEqual(tokens.requests.slice(before + 1), [
    { service: tokens.service, scopes: ['repository:public/img:pull'], account: user.name },
  ]);

  // Anonymous: the token server grants public repositories only.
  const anon = context('bearer-anon', noAuth());
  assert.equal((await getImage(anon, `${bearer.host}/public/img:1`, true)).manifestDigest, image.manifestDigest);
  assert.deepEqual(tokens.requests.at(-1), { service: tokens.service, scopes: ['repository:public/img:pull'] });
  await assert.rejects(
    getImage(anon, `${bearer.host}/private/img:1`, false),
    (err) => expectDenied(err, bearer.host) && /access denied .*HTTP 401/.test((err as Error).message),
  );

  const wrong = join(work, 'wrong-bearer.json');
  writeFileSync(
    wrong,
    JSON.stringify({ auths: { [bearer.host]: { auth: Buffer.from(`${user.name}:nope`).toString('base64') } } }),
  );
  await assert.rejects(
    getImage(context('bearer-wrong', wrong), `${bearer.host}/private/img:1`, false),
    /token server 127\.0\.0\.1:5103 refused \(HTTP 401\) for 127\.0\.0\.1:5102\/private\/img/,
  );

  assert.equal(
    JSON.parse(await run('skopeo', ['inspect', '--authfile', authFile(), `docker://${bearer.host}/private/img:1`]))
      .Digest,
    image.manifestDigest,
  );
  assert.match(
    (await spawnAsync('skopeo', ['inspect', '--authfile', noAuth(), `docker://${bearer.host}/private/img:1`])).stderr,
    /unauthorized|authentication required|denied/,
  );
});

test('blob redirects to another host carry no Authorization header', async () => {
  for (const registry of [basic, bearer]) {
    const seen = registry.blobRequests.length;
    await getImage(context(`redirect-${registry.port}`, authFile()), `${registry.host}/private/img:1`, true);
    const fetched = registry.blobRequests.slice(seen);
    // The config and the layer, both from the file server the registry redirected to.
    assert.deepEqual(
      fetched.map((r) => [r.method, r.status]),
      [
        ['GET', 200],
        ['GET', 200],
      ],
      registry.host,
    );
    assert.deepEqual(
      fetched.map((r) => r.authorization),
      [undefined, undefined],
      registry.host,
    );
  }
});

test('an auth file the user cannot read: no credentials by default, a clear error when named', async () => {
  // Only root may enter /run/containers: the same for any default location a user cannot read.
  const rootOnly = join(work, 'root-only-xdg');
  mkdirSync(join(rootOnly, 'containers'), { recursive: true });
  copyFileSync(authFile(), join(rootOnly, 'containers', 'auth.json'));
  chmodSync(rootOnly, 0o700);
  const store = join(work, 'nobody-store');
  mkdirSync(store);
  chownSync(store, nobody, nobody);
  const env = { ISOMOCK_IMAGE_STORE: store, XDG_RUNTIME_DIR: rootOnly, HOME: store };
  const openPull = await isomock(['image', 'inspect', `${open.host}/public/img:1`, '--json'], env, nobody);
  assert.equal(openPull.status, 0, openPull.stderr);
  assert.equal(JSON.parse(openPull.stdout).pull_digest, image.manifestDigest);
  const locked = await isomock(['image', 'inspect', `${basic.host}/private/img:1`, '--json'], env, nobody);
  assert.equal(locked.status, 90, locked.stderr);
  assert.match(locked.stderr, /127\.0\.0\.1:5101 wants a login/);

  const unreadable = join(work, 'unreadable-auth.json');
  copyFileSync(authFile(), unreadable);
  chmodSync(unreadable, 0o600);
  const named = await isomock(
    ['image', 'inspect', `${open.host}/public/img:1`, '--json'],
    { ...env, REGISTRY_AUTH_FILE: unreadable },
    nobody,
  );
  assert.equal(named.status, 3, named.stderr);
  assert.equal(named.stderr.trim(), `isomock: error: ${unreadable}: cannot read the registry auth file (EACCES)`);
});
