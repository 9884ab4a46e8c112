/**
 * Reading the start of an RPM file from a stream: the 96-byte lead, the
 * signature header (padded to 8 bytes) and the main header. Only as many
 * bytes as those need are taken; the payload stays unread unless a caller
 * asks for it (digest verification).
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { IsomockError } from '../errors.js';
import { RpmHeader, corrupt, headerIntroLength, headerLength, parseHeaderIntro } from './header.js';

const leadLength = 96;
const leadMagic = 0xedabeedb;
// RPMSIGTYPE_HEADERSIG: the only signature type rpm has written since 1997.
const headerSignatureType = 5;

/** A file path, or a stream of an RPM file's bytes (with a name for messages). */
export type RpmSource = string | { stream: Readable; name: string };

export interface RpmHeaders {
  /** Name of the file or stream, for messages. */
  where: string;
  /** Lead type: 0 binary, 1 source. */
  leadType: number;
  signature: RpmHeader;
  header: RpmHeader;
  /** Byte offset of the main header (its magic) in the file. */
  headerOffset: number;
  /** Byte length of the main header; the payload starts right after it. */
  headerLength: number;
}

/** Pulls exact byte counts out of a stream's chunks. */
class Cursor {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  position = 0;

  constructor(
    private readonly chunks: AsyncIterator<Buffer>,
    readonly where: string,
  ) {}

  async read(length: number, what: string): Promise<Buffer> {
    while (this.pendingLength < length) {
      const next = await this.next();
      if (next.done) throw new IsomockError(`${this.where}: truncated RPM file (ends inside the ${what})`);
      this.pending.push(next.value);
      this.pendingLength += next.value.length;
    }
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = all.length > length ? [all.subarray(length)] : [];
    this.pendingLength = all.length - length;
    this.position += length;
    return all.subarray(0, length);
  }

  /** Everything after what was read, to the end of the stream. */
  async *rest(): AsyncGenerator<Buffer> {
    yield* this.pending;
    this.pending = [];
    for (let next = await this.next(); !next.done; next = await this.next()) yield next.value;
  }

  /** Stops reading: the stream is destroyed (a file is closed). */
  async close(): Promise<void> {
    await this.chunks.return?.();
  }

  private async next(): Promise<IteratorResult<Buffer>> {
    try {
      return await this.chunks.next();
    } catch (err) {
      throw new IsomockError(`${this.where}: cannot read: ${(err as Error).message}`);
    }
  }
}

function openCursor(source: RpmSource): Cursor {
  const [stream, where] =
    typeof source === 'string' ? [createReadStream(source), source] : [source.stream, source.name];
  return new Cursor(stream[Symbol.asyncIterator](), where);
}

async function readHeader(cursor: Cursor, what: string): Promise<RpmHeader> {
  const intro = await cursor.read(headerIntroLength, what);
  const { entries, dataLength } = parseHeaderIntro(intro, `${cursor.where} (${what})`);
  const body = await cursor.read(headerLength(entries, dataLength) - headerIntroLength, what);
  return new RpmHeader(Buffer.concat([intro, body]), `${cursor.where} (${what})`);
}

async function readHeadersFrom(cursor: Cursor): Promise<RpmHeaders> {
  const lead = await cursor.read(leadLength, 'lead');
  if (lead.readUInt32BE(0) !== leadMagic) throw new IsomockError(`${cursor.where}: not an RPM file (bad lead magic)`);
  if (lead[4]! < 3) throw corrupt(cursor.where, `unsupported RPM format version ${lead[4]}`);
  if (lead.readUInt16BE(78) !== headerSignatureType) throw corrupt(cursor.where, 'unsupported signature type in lead');
  const signature = await readHeader(cursor, 'signature header');
  const padding = (8 - (signature.raw.length % 8)) % 8;
  await cursor.read(padding, 'signature header');
  const headerOffset = cursor.position;
  const header = await readHeader(cursor, 'main header');
  return {
    where: cursor.where,
    leadType: lead.readUInt16BE(6),
    signature,
    header,
    headerOffset,
    headerLength: header.raw.length,
  };
}

/** Reads the lead and both headers, then stops reading the source. */
export async function readRpmHeaders(source: RpmSource): Promise<RpmHeaders> {
  const cursor = openCursor(source);
  try {
    return await readHeadersFrom(cursor);
  } finally {
    await cursor.close();
  }
}

/** Reads the headers and hands over the payload's bytes, to the end of the source. */
export async function readRpmWithPayload(
  source: RpmSource,
): Promise<{ headers: RpmHeaders; payload: AsyncGenerator<Buffer>; close: () => Promise<void> }> {
  const cursor = openCursor(source);
  try {
    const headers = await readHeadersFrom(cursor);
    return { headers, payload: cursor.rest(), close: () => cursor.close() };
  } catch (err) {
    await cursor.close();
    throw err;
  }
}
