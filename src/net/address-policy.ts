/**
 * Which addresses a download from a lockfile may reach. Link-local addresses
 * (169.254.0.0/16, fe80::/10) are where clouds serve instance credentials: a
 * lockfile that travels must not make root fetch from them, so they are
 * refused unless the command line allows them. Both the literal host of a URL
 * and, for names, every address the name resolves to at connect time (the
 * lookup the connection itself uses, so a name cannot resolve one way when
 * checked and another when used).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { isIP } from 'node:net';
import { ExitCode, IsomockError } from '../errors.js';

/** 169.254.0.0/16, fe80::/10, and either written as an IPv4-mapped IPv6 address. */
export function isLinkLocal(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (mapped) return isLinkLocal(mapped[1]!);
  // The WHATWG URL parser writes a mapped address in hex: ::ffff:a9fe:a9fe.
  if (/^::ffff:a9fe:[0-9a-f]{1,4}$/.test(ip)) return true;
  if (isIP(ip) === 4) return ip.startsWith('169.254.');
  return isIP(ip) === 6 && /^fe[89ab][0-9a-f]:/.test(ip);
}

const linkLocalHint = 'give --allow-link-local to fetch from it';

function refused(url: string, address: string): IsomockError {
  return new IsomockError(`refused ${url}: ${address} is a link-local address (${linkLocalHint})`, ExitCode.badCmdline);
}

/** Throws unless url's literal host may be reached (names are checked when they resolve). */
export function checkUrlHost(url: string, allowLinkLocal: boolean): void {
  if (!allowLinkLocal && isLinkLocal(new URL(url).hostname)) throw refused(url, new URL(url).hostname);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for undici's connector that fails, with the refusal (code
 * ELINKLOCAL), when a name resolves to a link-local address (unless allowed).
 */
export function guardedLookup(allowLinkLocal: boolean) {
  return (hostname: string, options: LookupAllOptions | object, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const bad = allowLinkLocal ? undefined : addresses.find((a) => isLinkLocal(a.address));
      if (bad)
        return callback(Object.assign(refused(hostname, `${hostname} (${bad.address})`), { code: 'ELINKLOCAL' }), []);
      if ((options as LookupAllOptions).all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

/**
 * Throws unless host (a name or an address, with an optional :port) may be
 * reached, resolving a name now: for clients that cannot take guardedLookup.
 */
export async function checkHost(host: string, shownAs: string, allowLinkLocal: boolean): Promise<void> {
  if (allowLinkLocal) return;
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (isLinkLocal(name)) throw refused(shownAs, name);
  if (isIP(name)) return;
  const addresses = await new Promise<LookupAddress[]>((resolve) =>
    dnsLookup(name, { all: true }, (err, found) => resolve(err ? [] : found)),
  );
  const bad = addresses.find((a) => isLinkLocal(a.address));
  if (bad) throw refused(shownAs, `${name} (${bad.address})`);
}
