/**
 * A registry token server (the "Docker token authentication" flow) on
 * loopback, for the bearer-token tests: it checks an optional Basic login,
 * grants the actions a policy allows on each requested scope, and signs an
 * ES256 JWT that Debian's docker-registry verifies against the self-signed
 * certificate of the signing key (its `rootcertbundle`). The key and the
 * certificate are made with openssl at start, so nothing secret is stored.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';

interface TokenRequest {
  service: string;
  /** The `scope` parameters, as sent. */
  scopes: string[];
  /** The Basic login's user name, or undefined for an anonymous request. */
  account?: string;
}

/** The actions `account` (undefined: anonymous) may perform on a repository. */
type TokenPolicy = (account: string | undefined, repository: string) => string[];

export interface TokenServerOptions {
  port: number;
  /** Where the key and its certificate are written. */
  dir: string;
  users: Record<string, string>;
  policy: TokenPolicy;
}

export interface TokenServer {
  /** What the registry's `auth: token:` section needs. */
  realm: string;
  service: string;
  issuer: string;
  rootCertBundle: string;
  /** Every token request answered with a token, in order. */
  requests: TokenRequest[];
  stop(): Promise<void>;
}

const base64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/** A P-256 key and its self-signed certificate; the certificate's DER goes into each token's x5c header. */
function makeSigningKey(dir: string): { key: KeyObject; certFile: string; certDer: string } {
  mkdirSync(dir, { recursive: true });
  const keyFile = join(dir, 'token-key.pem');
  const certFile = join(dir, 'token-cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      '/CN=isomock test token issuer',
    ],
    { stdio: 'pipe' },
  );
  const certDer = readFileSync(certFile, 'utf8').replace(/-----[^-]+-----|\s/g, '');
  return { key: createPrivateKey(readFileSync(keyFile)), certFile, certDer };
}

/** `user:password` from a Basic Authorization header; undefined when absent, null when malformed. */
function basicLogin(header: string | undefined): { user: string; password: string } | undefined | null {
  if (header === undefined) return undefined;
  const m = /^Basic\s+(\S+)$/i.exec(header);
  const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const { key, certFile, certDer } = makeSigningKey(opts.dir);
  const service = 'isomock-test-registry';
  const issuer = 'isomock-test-token-issuer';
  const requests: TokenRequest[] = [];

  const jwt = (account: string | undefined, access: { type: string; name: string; actions: string[] }[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: [certDer] }));
    const claims = base64url(
      JSON.stringify({
        iss: issuer,
        sub: account ?? '',
        aud: service,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomUUID(),
        access,
      }),
    );
    // JWS wants the raw r||s signature, not DER.
    const signature = sign('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' });
    return `${header}.${claims}.${base64url(signature)}`;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const reply = (status: number, body: object): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname !== '/token') return reply(404, { error: 'not found' });
    const login = basicLogin(req.headers.authorization);
    if (login === null || (login && opts.users[login.user] !== login.password))
      return reply(401, { error: 'bad login' });
    const scopes = url.searchParams.getAll('scope');
    const access = scopes.flatMap((scope) => {
      // repository:NAME:pull,push (repository names hold no ':').
      const [type, name, actions] = scope.split(':');
      if (type !== 'repository' || !name || !actions) return [];
      const allowed = opts.policy(login?.user, name);
      return [{ type, name, actions: actions.split(',').filter((a) => allowed.includes(a)) }];
    });
    requests.push({ service: url.searchParams.get('service') ?? '', scopes, ...(login && { account: login.user }) });
    const token = jwt(login?.user, access);
    reply(200, { token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() });
  };

  const server = createServer(handle);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port, '127.0.0.1', () => ok());
  });
  return {
    realm: `http://127.0.0.1:${opts.port}/token`,
    service,
    issuer,
    rootCertBundle: certFile,
    requests,
    stop: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
