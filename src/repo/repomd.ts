/** Reads repomd.xml: which metadata files a repository has, where, and their checksums. */
import { parseXmlStream } from './xml-stream.js';
import type { Checksum } from './package.js';

export interface RepoMdRecord {
  type: string;
  href: string;
  checksum?: Checksum;
  openChecksum?: Checksum;
  size?: number;
  openSize?: number;
}

export interface RepoMd {
  revision?: string;
  records: Map<string, RepoMdRecord>;
}

const textElements = new Set(['revision', 'checksum', 'open-checksum', 'size', 'open-size']);

/** Throws XmlSyntaxError for malformed XML; the caller names the file. */
export async function parseRepoMd(xml: Uint8Array): Promise<RepoMd> {
  const repomd: RepoMd = { records: new Map() };
  let record: RepoMdRecord | undefined;
  let checksumType = '';
  await parseXmlStream(
    [xml],
    {
      open(name, a) {
        if (name === 'data') record = { type: a.get('type') ?? '', href: '' };
        else if (name === 'location' && record) record.href = a.get('href') ?? '';
        else if (name === 'checksum' || name === 'open-checksum') checksumType = a.get('type') ?? '';
      },
      text(name, text) {
        const value = text.trim();
        if (name === 'revision' && !record) repomd.revision = value;
        if (!record) return;
        if (name === 'checksum') record.checksum = { type: checksumType, value };
        else if (name === 'open-checksum') record.openChecksum = { type: checksumType, value };
        else if (name === 'size') record.size = Number(value);
        else if (name === 'open-size') record.openSize = Number(value);
      },
      close(name) {
        if (name === 'data' && record) {
          repomd.records.set(record.type, record);
          record = undefined;
        }
      },
    },
    textElements,
  );
  return repomd;
}
