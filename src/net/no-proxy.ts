/**
 * `no_proxy` as curl (and so dnf, through librepo) reads it, plus the port
 * form other clients accept. Pure.
 *
 * A comma- or space-separated list of entries:
 * - `*` alone: no proxy for any host;
 * - a host name: that host and every subdomain (`example.com` matches
 *   `example.com` and `a.example.com`, never `badexample.com`); a leading
 *   `.` or `*.` means the same;
 * - an IP address (IPv6 with or without brackets), or a CIDR block
 *   (`10.0.0.0/8`, `fd00::/8`): compared as addresses, never as names;
 * - any of these with `:PORT`: only that port.
 * Matching ignores case and a trailing dot of the host.
 */
import { BlockList, isIP } from 'node:net';
import { bareHost, portOf } from './url.js';

interface Entry {
  /** A name suffix (no leading dot), or undefined for an address entry. */
  name?: string;
  addresses?: BlockList;
  port?: number;
}

export interface NoProxy {
  all: boolean;
  entries: Entry[];
}

function splitPort(token: string): { host: string; port?: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(token);
  if (bracketed) return { host: bracketed[1]!, ...(bracketed[2] && { port: Number(bracketed[2]) }) };
  // A bare IPv6 address has several colons: no port can be written without brackets.
  if ((token.match(/:/g) ?? []).length > 1) return { host: token };
  const m = /^(.*):(\d+)$/.exec(token);
  return m ? { host: m[1]!, port: Number(m[2]) } : { host: token };
}

function addressEntry(host: string): BlockList | undefined {
  const [addr, bits, extra] = host.split('/');
  const family = isIP(addr!);
  if (family === 0 || extra !== undefined) return undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  if (bits === undefined) list.addAddress(addr!, type);
  else {
    const prefix = Number(bits);
    if (!/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128)) return undefined;
    list.addSubnet(addr!, prefix, type);
  }
  return list;
}

export function parseNoProxy(value: string | undefined): NoProxy {
  const result: NoProxy = { all: false, entries: [] };
  for (const raw of (value ?? '').split(/[\s,]+/)) {
    const token = raw.trim().toLowerCase();
    if (token === '') continue;
    if (token === '*') {
      result.all = true;
      continue;
    }
    const { host, port } = splitPort(token);
    const addresses = addressEntry(host);
    if (addresses) {
      result.entries.push({ addresses, ...(port !== undefined && { port }) });
      continue;
    }
    const name = host.replace(/^\*?\./, '').replace(/\.$/, '');
    if (name !== '') result.entries.push({ name, ...(port !== undefined && { port }) });
  }
  return result;
}

/** True when `url` must be reached directly, not through a proxy. */
export function bypassesProxy(url: URL, rules: NoProxy): boolean {
  if (rules.all) return true;
  const host = bareHost(url).replace(/\.$/, '');
  const family = isIP(host);
  const port = portOf(url);
  return rules.entries.some((e) => {
    if (e.port !== undefined && e.port !== port) return false;
    if (e.addresses) return family !== 0 && e.addresses.check(host, family === 4 ? 'ipv4' : 'ipv6');
    return family === 0 && (host === e.name || host.endsWith(`.${e.name}`));
  });
}
