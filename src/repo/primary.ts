/** Reads primary.xml: each package's identity, location, size, Provides and primary files. */
import { parseXmlStream } from './xml-stream.js';
import type { RepoPackage } from './package.js';

const textElements = new Set(['name', 'arch', 'checksum', 'file', 'rpm:sourcerpm']);

export async function readPrimary(
  source: AsyncIterable<Uint8Array>,
  onPackage: (pkg: RepoPackage) => void,
): Promise<void> {
  let pkg: RepoPackage | undefined;
  let inProvides = false;
  await parseXmlStream(
    source,
    {
      open(name, a) {
        switch (name) {
          case 'package':
            pkg = {
              name: '',
              epoch: '0',
              version: '',
              release: '',
              arch: '',
              checksum: { type: '', value: '' },
              locationHref: '',
              size: 0,
              installedSize: 0,
              provides: [],
              files: [],
            };
            break;
          case 'version':
            if (pkg) {
              pkg.epoch = a.get('epoch') || '0';
              pkg.version = a.get('ver') ?? '';
              pkg.release = a.get('rel') ?? '';
            }
            break;
          case 'checksum':
            if (pkg) pkg.checksum.type = a.get('type') ?? '';
            break;
          case 'size':
            if (pkg) {
              pkg.size = Number(a.get('package') ?? 0);
              pkg.installedSize = Number(a.get('installed') ?? 0);
            }
            break;
          case 'location':
            if (pkg) {
              pkg.locationHref = a.get('href') ?? '';
              const base = a.get('xml:base');
              if (base) pkg.locationBase = base;
            }
            break;
          case 'rpm:provides':
            inProvides = true;
            break;
          case 'rpm:entry':
            if (inProvides && pkg) {
              const provide = a.get('name') ?? '';
              const flags = a.get('flags');
              pkg.provides.push(
                flags
                  ? { name: provide, flags, epoch: a.get('epoch'), version: a.get('ver'), release: a.get('rel') }
                  : { name: provide },
              );
            }
            break;
        }
      },
      text(name, text) {
        if (!pkg) return;
        switch (name) {
          case 'name':
            pkg.name = text;
            break;
          case 'arch':
            pkg.arch = text;
            break;
          case 'checksum':
            pkg.checksum.value = text;
            break;
          case 'file':
            pkg.files.push(text);
            break;
          case 'rpm:sourcerpm':
            if (text) pkg.sourceRpm = text;
            break;
        }
      },
      close(name) {
        if (name === 'rpm:provides') inProvides = false;
        else if (name === 'package' && pkg) {
          onPackage(pkg);
          pkg = undefined;
        }
      },
    },
    textElements,
  );
}
