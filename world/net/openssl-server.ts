/**
 * `openssl s_server -WWW`: a TLS server that verifies client certificates
 * inside OpenSSL, as Apache's mod_ssl does, so a refused certificate ends
 * the handshake with a real TLS alert (unknown CA, certificate required).
 * Node's own TLS server checks client certificates after the handshake and
 * just closes the connection, which tells a client nothing. Serves the
 * files of `root` over HTTP/1.0, on 127.0.0.1 and a free port, one
 * connection at a time.
 */
import { spawn } from 'node:child_process';
import type { KeyPair } from './pki.js';
import { freePort, listening } from './ports.js';

export interface OpensslServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startOpensslServer(root: string, server: KeyPair, clientCa: string): Promise<OpensslServer> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn(
      'openssl',
      ['s_server', '-quiet', '-WWW', '-accept', `127.0.0.1:${port}`, '-cert', server.cert, '-key', server.key].concat([
        '-CAfile',
        clientCa,
        '-Verify',
        '1',
        '-verify_return_error',
      ]),
      { cwd: root, stdio: 'ignore' },
    );
    child.once('error', () => undefined);
    const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
    if (!(await listening(port, 5000, () => child.exitCode !== null))) {
      child.kill('SIGKILL');
      await exited;
      continue;
    }
    return {
      url: `https://127.0.0.1:${port}/`,
      port,
      close: async () => {
        child.kill('SIGTERM');
        await exited;
      },
    };
  }
  throw new Error('openssl s_server did not start on a free port');
}
