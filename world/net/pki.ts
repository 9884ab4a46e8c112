/**
 * A throwaway PKI for TLS tests, made with openssl in a scratch directory:
 * a test CA, a server certificate for 127.0.0.1/localhost signed by it, a
 * client certificate signed by it, and for the failures a second CA with a
 * client certificate of its own, a self-signed server certificate and one
 * for another host name. EC P-256 keys: fast to make.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KeyPair {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  /** The CA that signed `server` and `client`. */
  ca: string;
  server: KeyPair;
  client: KeyPair;
  /** Another CA, and a client certificate it signed: refused by servers trusting `ca`. */
  otherCa: string;
  wrongClient: KeyPair;
  /** Self-signed, for 127.0.0.1. */
  selfSigned: KeyPair;
  /** Signed by `ca`, for other.example only. */
  otherHost: KeyPair;
}

const openssl = (args: string[], cwd: string): void => {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
};

const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string): KeyPair {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  openssl(
    [
      'req',
      '-x509',
      ...newKey,
      '-keyout',
      pair.key,
      '-out',
      pair.cert,
      '-days',
      '30',
      '-subj',
      `/CN=isomock ${name}`,
    ].concat(['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']),
    dir,
  );
  return pair;
}

function makeLeaf(dir: string, name: string, ca: KeyPair, extensions: string): KeyPair {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  openssl(['req', ...newKey, '-keyout', pair.key, '-out', csr, '-subj', `/CN=${name}`], dir);
  openssl(
    ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '30'].concat([
      '-out',
      pair.cert,
      '-extfile',
      ext,
    ]),
    dir,
  );
  return pair;
}

const serverExt = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
const clientExt = 'extendedKeyUsage=clientAuth\n';

export function makeTestPki(dir: string): TestPki {
  mkdirSync(dir, { recursive: true });
  const ca = makeCa(dir, 'test-ca');
  const other = makeCa(dir, 'other-ca');
  const selfSigned = { cert: join(dir, 'self-signed.crt'), key: join(dir, 'self-signed.key') };
  openssl(
    ['req', '-x509', ...newKey, '-keyout', selfSigned.key, '-out', selfSigned.cert, '-days', '30'].concat([
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]),
    dir,
  );
  return {
    dir,
    ca: ca.cert,
    server: makeLeaf(dir, 'server', ca, serverExt),
    client: makeLeaf(dir, 'client', ca, clientExt),
    otherCa: other.cert,
    wrongClient: makeLeaf(dir, 'wrong-client', other, clientExt),
    selfSigned,
    otherHost: makeLeaf(dir, 'other-host', ca, 'subjectAltName=DNS:other.example\nextendedKeyUsage=serverAuth\n'),
  };
}
