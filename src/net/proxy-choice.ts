/**
 * Which proxy, if any, one request goes through. Pure: the environment is an
 * object passed in, never process.env read here.
 *
 * As curl (and so dnf) decides: `no_proxy`/`NO_PROXY` first, for explicit
 * proxies too; then the proxy the configuration names; then the environment:
 * `http_proxy` for http URLs (lower case only: a CGI server puts a request's
 * `Proxy:` header into HTTP_PROXY), `https_proxy`/`HTTPS_PROXY` for https,
 * `all_proxy`/`ALL_PROXY` for either. A value without a scheme is http://.
 * User info in a proxy URL becomes the proxy's credentials and leaves the URL.
 */
import { bypassesProxy, parseNoProxy } from './no-proxy.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface ProxySettings {
  /** `http://host:port` or `https://host:port`, no user info. */
  url: string;
  username?: string;
  password?: string;
}

/** A configured proxy: a proxy, 'none' (go direct, whatever the environment says), or absent (the environment). */
export type ProxyConfig = ProxySettings | 'none' | undefined;

export class ProxyConfigError extends Error {}

/** Parse a proxy URL as written in a config or the environment (never echoing its user info). */
export function parseProxyUrl(value: string, where: string): ProxySettings {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ProxyConfigError(`${where}: not a proxy URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ProxyConfigError(`${where}: proxy scheme ${url.protocol} is not supported (http or https)`);
  if (url.hostname === '') throw new ProxyConfigError(`${where}: the proxy URL has no host`);
  const settings: ProxySettings = { url: `${url.protocol}//${url.host}` };
  if (url.username !== '') settings.username = decodeURIComponent(url.username);
  if (url.password !== '') settings.password = decodeURIComponent(url.password);
  return settings;
}

function envValue(env: Env, names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

/** The proxy for `url`, or undefined to go direct. */
export function chooseProxy(url: URL, configured: ProxyConfig, env: Env): ProxySettings | undefined {
  const noProxy = envValue(env, ['no_proxy', 'NO_PROXY']);
  if (noProxy && bypassesProxy(url, parseNoProxy(noProxy.value))) return undefined;
  if (configured === 'none') return undefined;
  if (configured) return configured;
  const names =
    url.protocol === 'https:'
      ? ['https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY']
      : ['http_proxy', 'all_proxy', 'ALL_PROXY'];
  const found = envValue(env, names);
  return found ? parseProxyUrl(found.value, `$${found.name}`) : undefined;
}
