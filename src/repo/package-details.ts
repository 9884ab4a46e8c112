/**
 * filelists.xml and other.xml share one layout: a <package pkgid=...> per
 * package, holding one kind of entry (<file>, <changelog>) per item.
 */
import { parseXmlStream, type XmlAttributes } from './xml-stream.js';

export interface ChangelogEntry {
  author: string;
  /** Seconds since the epoch. */
  date: number;
  text: string;
}

async function readPerPackage<T, S>(
  source: AsyncIterable<Uint8Array>,
  entryElement: string,
  /** Keeps what the entry's start tag says (its attributes are gone by its end). */
  begin: (attributes: XmlAttributes) => S,
  finish: (started: S, text: string) => T,
  onPackage: (pkgid: string, entries: T[]) => void,
): Promise<void> {
  let pkgid: string | undefined;
  let entries: T[] = [];
  let started: S;
  await parseXmlStream(
    source,
    {
      open(name, a) {
        if (name === 'package') {
          pkgid = a.get('pkgid');
          entries = [];
        } else if (name === entryElement) started = begin(a);
      },
      text(_name, text) {
        entries.push(finish(started, text));
      },
      close(name) {
        if (name === 'package' && pkgid !== undefined) onPackage(pkgid, entries);
      },
    },
    new Set([entryElement]),
  );
}

/** Every file of every package. */
export function readFilelists(
  source: AsyncIterable<Uint8Array>,
  onPackage: (pkgid: string, files: string[]) => void,
): Promise<void> {
  return readPerPackage(
    source,
    'file',
    () => undefined,
    (_, text) => text,
    onPackage,
  );
}

/** The changelog of every package. */
export function readOther(
  source: AsyncIterable<Uint8Array>,
  onPackage: (pkgid: string, changelog: ChangelogEntry[]) => void,
): Promise<void> {
  return readPerPackage(
    source,
    'changelog',
    (a) => ({ author: a.get('author') ?? '', date: Number(a.get('date') ?? 0) }),
    (head, text) => ({ ...head, text }),
    onPackage,
  );
}
