/**
 * Transport options from trusted configuration: one repository's dnf.conf
 * section (with what it takes from [main]) plus Mock's SSL options, and
 * isolated-repo's `--client-cert-for`. Data only: no file is read here.
 *
 * - `proxy`, `proxy_username`, `proxy_password`, `proxy_auth_method` as dnf
 *   reads them (each inherited from [main]); an empty `proxy` or `_none_`
 *   leaves the choice to the environment, as librepo does. Only basic proxy
 *   authentication (`any`, `basic`) is supported; `none` sends none.
 * - `sslcacert` replaces the default trust for the repository's requests
 *   (curl's CAINFO, as dnf uses it); `sslverify=0` and the client
 *   certificate (`sslclientcert`, `sslclientkey`) are granted to the origins
 *   of the repository's own URLs (baseurl, metalink, mirrorlist) only.
 * - Paths in dnf.conf are the ones dnf sees in the buildroot. A path that is
 *   the destination of one of Mock's copies (the host's CA bundle copied to
 *   `ssl_ca_bundle_path`, each `ssl_extra_certs` file copied into its
 *   directory) is read from the copy's host source; any other is a host path
 *   (buildroot/bootstrap-certs.ts binds those into a bootstrap at the same
 *   path, so dnf there reads the same files).
 */
import { posix } from 'node:path';
import { parseBool, type DnfConf, type IniSection } from '../config/dnfconf.js';
import { configError } from '../config/source.js';
import { parseProxyUrl, ProxyConfigError, type Env, type ProxyConfig } from './proxy-choice.js';
import type { TlsSettings, TransportOptions } from './transport.js';
import { originOf } from './url.js';

export interface MockSslOptions {
  /** config_opts['ssl_ca_bundle_path']: where the host's CA bundle appears in the buildroot. */
  ssl_ca_bundle_path?: string | null;
  /** config_opts['ssl_extra_certs']: host file, buildroot directory, host file, directory, ... */
  ssl_extra_certs?: readonly string[] | null;
  /** The host's CA bundle that Mock copies (the system bundle). */
  hostCaBundle: string;
}

/** The host file behind a path dnf sees in the buildroot. */
export function hostPathOf(path: string, mock: MockSslOptions): string {
  const p = posix.normalize(path);
  if (mock.ssl_ca_bundle_path && posix.normalize(mock.ssl_ca_bundle_path) === p) return mock.hostCaBundle;
  const extra = mock.ssl_extra_certs ?? [];
  for (let i = 0; i + 1 < extra.length; i += 2) {
    const source = extra[i]!;
    if (posix.join(extra[i + 1]!, posix.basename(source)) === p) return source;
  }
  return path;
}

const supportedAuth = new Set(['any', 'basic', 'none']);

function proxyOf(conf: DnfConf, section: IniSection): ProxyConfig {
  const get = (k: string): string | undefined => section.options.get(k) ?? conf.main.options.get(k);
  const where = (k: string): string => `dnf.conf [${section.id}] ${k}`;
  const value = get('proxy')?.trim();
  if (!value || value === '_none_') return undefined;
  const method = (get('proxy_auth_method') ?? 'any').trim().toLowerCase();
  if (!supportedAuth.has(method))
    throw configError(`${where('proxy_auth_method')}: '${method}' is not supported (any, basic or none)`);
  let proxy;
  try {
    proxy = parseProxyUrl(value, where('proxy'));
  } catch (err) {
    if (err instanceof ProxyConfigError) throw configError(err.message);
    throw err;
  }
  const username = get('proxy_username');
  const password = get('proxy_password');
  if (username) {
    proxy.username = username;
    proxy.password = password ?? '';
  }
  if (method === 'none') {
    delete proxy.username;
    delete proxy.password;
  }
  return proxy;
}

/** The origins of a repository's own URLs (its grants go to these only). */
function repoOrigins(section: IniSection): string[] {
  const urls = ['baseurl', 'metalink', 'mirrorlist'].flatMap((k) =>
    (section.options.get(k) ?? '').split(/[\s,]+/).filter((u) => /^https?:\/\//i.test(u)),
  );
  const origins = new Set<string>();
  for (const u of urls) {
    try {
      origins.add(originOf(new URL(u)));
    } catch {
      throw configError(`dnf.conf [${section.id}]: ${JSON.stringify(u)} is not a URL`);
    }
  }
  return [...origins];
}

/** Transport options for isomock's own requests to one repository, as dnf would make them. */
export function repoTransportOptions(
  conf: DnfConf,
  section: IniSection,
  mock: MockSslOptions,
  env: Env,
): TransportOptions {
  const get = (k: string): string | undefined => {
    const v = (section.options.get(k) ?? conf.main.options.get(k))?.trim();
    return v === '' ? undefined : v;
  };
  const cacert = get('sslcacert');
  const clientCert = get('sslclientcert');
  const clientKey = get('sslclientkey');
  const verifyText = get('sslverify');
  const verify = verifyText === undefined ? true : parseBool(verifyText, `dnf.conf [${section.id}] sslverify`);
  if (clientKey && !clientCert)
    throw configError(`dnf.conf [${section.id}]: sslclientkey is set without sslclientcert`);
  const granted: TlsSettings = {
    ...(!verify && { verify: false }),
    ...(clientCert && {
      clientCert: {
        cert: hostPathOf(clientCert, mock),
        ...(clientKey && { key: hostPathOf(clientKey, mock) }),
      },
    }),
  };
  const originTls = new Map<string, TlsSettings>();
  if (Object.keys(granted).length > 0) for (const o of repoOrigins(section)) originTls.set(o, granted);
  return {
    env,
    proxy: proxyOf(conf, section),
    ...(cacert && { tls: { caFiles: [hostPathOf(cacert, mock)] } }),
    ...(originTls.size > 0 && { originTls }),
  };
}

/**
 * `--client-cert-for HOST CERT [KEY]` as origin grants: `host:port` is that
 * https origin; a bare host is every port of it (the transport's
 * `https://host` key).
 */
export function clientCertOrigins(
  certs: ReadonlyMap<string, { cert: string; key?: string }>,
): Map<string, TlsSettings> {
  const out = new Map<string, TlsSettings>();
  for (const [host, cert] of certs) {
    const url = new URL(`https://${host}/`);
    const key = /:\d+$/.test(host) ? originOf(url) : `https://${url.hostname.toLowerCase()}`;
    out.set(key, { clientCert: { cert: cert.cert, ...(cert.key !== undefined && { key: cert.key }) } });
  }
  return out;
}
