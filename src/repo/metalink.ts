/**
 * Reads a metalink (what MirrorManager serves for `metalink=`): the mirrors
 * of repomd.xml in order of preference, and the checksums a current copy must
 * have (the latest and a few recent alternates, since mirrors lag).
 */
import { parseXmlStream } from './xml-stream.js';
import type { Checksum } from './package.js';

export interface Metalink {
  /** Each set is one acceptable version of repomd.xml (type -> hex digest). */
  verifications: Checksum[][];
  /** Repository base URLs (the `repodata/repomd.xml` suffix removed), best first. */
  mirrors: string[];
}

export async function parseMetalink(xml: Uint8Array): Promise<Metalink> {
  const verifications: Checksum[][] = [];
  const urls: { url: string; preference: number; order: number }[] = [];
  let inRepomd = false;
  let hashType = '';
  let preference = 0;
  await parseXmlStream(
    [xml],
    {
      open(name, a) {
        if (name === 'file') inRepomd = a.get('name') === 'repomd.xml';
        else if (!inRepomd) return;
        else if (name === 'verification') verifications.push([]);
        else if (name === 'hash') hashType = a.get('type') ?? '';
        else if (name === 'url') preference = Number(a.get('preference') ?? 0);
      },
      text(name, text) {
        if (!inRepomd) return;
        if (name === 'hash') verifications[verifications.length - 1]?.push({ type: hashType, value: text.trim() });
        else if (name === 'url') urls.push({ url: text.trim(), preference, order: urls.length });
      },
      close(name) {
        if (name === 'file') inRepomd = false;
      },
    },
    new Set(['hash', 'url']),
  );
  urls.sort((x, y) => y.preference - x.preference || x.order - y.order);
  const mirrors = urls
    .filter(({ url }) => /^(https?|file):/i.test(url))
    .map(({ url }) => url.replace(/repodata\/repomd\.xml$/, ''));
  return { verifications: verifications.filter((set) => set.length > 0), mirrors };
}
