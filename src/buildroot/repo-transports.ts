/**
 * isomock's own requests for a buildroot's repositories (the calculate
 * step's URL check), made as dnf makes them: each URL through the transport
 * of the repository it belongs to (its dnf.conf section's proxy, sslcacert,
 * sslclientcert/key, sslverify, with Mock's ssl_ca_bundle_path and
 * ssl_extra_certs mapped back to host files), the proxy environment as the
 * package manager gets it; a URL of no repository gets [main]'s settings.
 * notesFor() says which of those settings reached an origin, for the record.
 */
import type { IniSection } from '../config/dnfconf.js';
import { repoTransportOptions, type MockSslOptions } from '../net/config-map.js';
import { chooseProxy } from '../net/proxy-choice.js';
import { systemCaBundle, Transport, type TransportOptions } from '../net/transport.js';
import { originOf } from '../net/url.js';
import type { NetworkNote } from '../lockfile/record.js';
import type { BuildConfig } from './build-config.js';

interface RepoNet {
  id: string;
  /** Base URLs of its packages, each ending in '/'. */
  bases: string[];
  options: TransportOptions;
  transport: Transport;
}

export class RepoTransports {
  private readonly repos: RepoNet[];
  private readonly fallback: RepoNet;

  /** `bases`: each repository's package base URLs by id (its baseurls, or the mirrors dnf chose from). */
  constructor(config: BuildConfig, bases: ReadonlyMap<string, string[]>) {
    const mock: MockSslOptions = {
      ...config.mockSsl,
      hostCaBundle: systemCaBundle() ?? '/etc/pki/tls/certs/ca-bundle.crt',
    };
    const env = config.proxyEnvironment;
    const make = (section: IniSection, urls: string[]): RepoNet => {
      const options = repoTransportOptions(config.dnfConf, section, mock, env);
      return { id: section.id, bases: urls, options, transport: new Transport(options) };
    };
    this.repos = config.dnfConf.repos.map((s) => make(s, bases.get(s.id) ?? []));
    this.fallback = make({ id: 'main', options: new Map() }, []);
  }

  private repoOf(url: string): RepoNet {
    return this.repos.find((r) => r.bases.some((b) => url.startsWith(b))) ?? this.fallback;
  }

  transportFor(url: string): Transport {
    return this.repoOf(url).transport;
  }

  /** The settings used for the origin of `url`: a proxy, a CA of its own, a client certificate. */
  notesFor(url: string): NetworkNote[] {
    const { options } = this.repoOf(url);
    const u = new URL(url);
    const notes: NetworkNote[] = [];
    if (u.protocol === 'https:' && options.tls?.caFiles?.length) notes.push('ca');
    if (u.protocol === 'https:' && options.originTls?.get(originOf(u))?.clientCert) notes.push('client-cert');
    if (chooseProxy(u, options.proxy, options.env ?? {})) notes.push('proxy');
    return notes;
  }

  async close(): Promise<void> {
    await Promise.all([...this.repos, this.fallback].map((r) => r.transport.close()));
  }
}
