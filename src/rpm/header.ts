/**
 * One RPM header structure (the signature header or the main header): an
 * index of (tag, type, offset, count) entries over a data store. Values are
 * decoded on access, so a large header costs only what is asked of it.
 */
import { IsomockError } from '../errors.js';
import { TagType } from './tags.js';

const headerMagic = Buffer.from([0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0]);
/** Magic (8 bytes), index entry count and data length. */
export const headerIntroLength = 16;
const entryLength = 16;
// rpm refuses headers beyond these limits (hdrchkTags / hdrchkData).
const maxEntries = 0xffff;
const maxDataLength = 0x0fffffff;

interface Entry {
  type: number;
  offset: number;
  count: number;
}

/** Sizes read from a header's 16-byte intro; `where` names the header in errors. */
export function parseHeaderIntro(intro: Buffer, where: string): { entries: number; dataLength: number } {
  if (!intro.subarray(0, 8).equals(headerMagic)) throw corrupt(where, 'bad header magic');
  const entries = intro.readUInt32BE(8);
  const dataLength = intro.readUInt32BE(12);
  if (entries > maxEntries || dataLength > maxDataLength) {
    throw corrupt(where, `implausible size (${entries} entries, ${dataLength} data bytes)`);
  }
  return { entries, dataLength };
}

/** Total byte length of a header with the given intro values. */
export function headerLength(entries: number, dataLength: number): number {
  return headerIntroLength + entries * entryLength + dataLength;
}

export function corrupt(where: string, what: string): IsomockError {
  return new IsomockError(`${where}: corrupt RPM header: ${what}`);
}

export class RpmHeader {
  private readonly index = new Map<number, Entry>();
  private readonly data: Buffer;

  /** `raw` is the whole header as stored in the file, magic included. */
  constructor(
    readonly raw: Buffer,
    private readonly where: string,
  ) {
    const { entries, dataLength } = parseHeaderIntro(raw, where);
    if (raw.length !== headerLength(entries, dataLength)) throw corrupt(where, 'length does not match its index');
    const dataStart = headerIntroLength + entries * entryLength;
    this.data = raw.subarray(dataStart);
    for (let i = 0; i < entries; i++) {
      const at = headerIntroLength + i * entryLength;
      const tag = raw.readUInt32BE(at);
      const entry = {
        type: raw.readUInt32BE(at + 4),
        offset: raw.readUInt32BE(at + 8),
        count: raw.readUInt32BE(at + 12),
      };
      if (entry.type > TagType.i18nString || entry.offset > dataLength) {
        throw corrupt(where, `bad index entry for tag ${tag}`);
      }
      this.index.set(tag, entry);
    }
  }

  has(tag: number): boolean {
    return this.index.has(tag);
  }

  /** A STRING (or the first of a string array / i18n string) value. */
  string(tag: number): string | null {
    return this.strings(tag)?.[0] ?? null;
  }

  /** A STRING_ARRAY or I18NSTRING value (a STRING reads as one element). */
  strings(tag: number): string[] | null {
    const entry = this.entry(tag, [TagType.string, TagType.stringArray, TagType.i18nString]);
    if (!entry) return null;
    const count = entry.type === TagType.string ? 1 : entry.count;
    const out: string[] = [];
    let at = entry.offset;
    for (let i = 0; i < count; i++) {
      const end = this.data.indexOf(0, at);
      if (end < 0) throw corrupt(this.where, `unterminated string in tag ${tag}`);
      out.push(this.data.toString('utf8', at, end));
      at = end + 1;
    }
    return out;
  }

  /** The first value of an integer tag. */
  number(tag: number): number | null {
    return this.numbers(tag)?.[0] ?? null;
  }

  /** An integer array, unsigned as rpm treats it (INT64 above 2^53 loses precision). */
  numbers(tag: number): number[] | null {
    const entry = this.entry(tag, [TagType.char, TagType.int8, TagType.int16, TagType.int32, TagType.int64]);
    if (!entry) return null;
    const width = { [TagType.int16]: 2, [TagType.int32]: 4, [TagType.int64]: 8 }[entry.type] ?? 1;
    const bytes = this.slice(tag, entry, entry.count * width);
    const out = new Array<number>(entry.count);
    for (let i = 0; i < entry.count; i++) {
      const at = i * width;
      out[i] =
        width === 1
          ? bytes[at]!
          : width === 2
            ? bytes.readUInt16BE(at)
            : width === 4
              ? bytes.readUInt32BE(at)
              : Number(bytes.readBigUInt64BE(at));
    }
    return out;
  }

  /** A BIN value. */
  bytes(tag: number): Buffer | null {
    const entry = this.entry(tag, [TagType.bin]);
    return entry ? this.slice(tag, entry, entry.count) : null;
  }

  private entry(tag: number, types: number[]): Entry | null {
    const entry = this.index.get(tag);
    if (!entry) return null;
    if (!types.includes(entry.type)) throw corrupt(this.where, `tag ${tag} has unexpected type ${entry.type}`);
    return entry;
  }

  private slice(tag: number, entry: Entry, length: number): Buffer {
    if (entry.offset + length > this.data.length) throw corrupt(this.where, `tag ${tag} runs past the data store`);
    return this.data.subarray(entry.offset, entry.offset + length);
  }
}
