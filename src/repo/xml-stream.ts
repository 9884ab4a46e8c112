/**
 * A streaming XML scanner for repository metadata (repomd, primary, filelists,
 * other, comps, metalink). Generic JS parsers (saxes, htmlparser2) spend about
 * 3 s on a Fedora-sized primary before any indexing; this one works on the
 * bytes, finds tags with native `indexOf`, and decodes only the attribute
 * values and the text the caller asks for, which is several times faster.
 * It is checked against saxes, event by event, in test/repo-xml.test.ts.
 *
 * Scope: well-formed documents without a DTD internal subset (no metadata
 * format uses one); namespaces are not processed, so names keep their prefix
 * ("rpm:entry"), as every metadata format writes them.
 */

/** The attributes of the tag being opened; valid only during the `open` call. */
export interface XmlAttributes {
  get(name: string): string | undefined;
  /** All of them, decoded (for tests and small documents). */
  all(): Record<string, string>;
}

export interface XmlHandlers {
  open(name: string, attributes: XmlAttributes): void;
  close(name: string): void;
  /** All the text of an element named in `textElements`, once, before its close. */
  text?(name: string, text: string): void;
}

/** Thrown for malformed XML; `offset` is the byte offset in the (decompressed) document. */
export class XmlSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(`${reason} at byte ${offset}`);
  }
}

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const EQ = 0x3d;
const BANG = 0x21;
const QUESTION = 0x3f;
const AMP = 0x26;

const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d;
const isNameEnd = (b: number): boolean => isSpace(b) || b === GT || b === SLASH || b === EQ;

const predefined: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string, offset: number): string {
  if (!text.includes('&')) return text;
  return text.replace(/&([^;&\s]*);?/g, (whole, ref: string) => {
    if (whole.endsWith(';')) {
      if (ref in predefined) return predefined[ref]!;
      const code = /^#x[0-9a-fA-F]+$/.test(ref)
        ? parseInt(ref.slice(2), 16)
        : /^#[0-9]+$/.test(ref)
          ? parseInt(ref.slice(1), 10)
          : NaN;
      if (code >= 0 && code <= 0x10ffff) return String.fromCodePoint(code);
    }
    throw new XmlSyntaxError(`unknown or malformed entity "${whole}"`, offset);
  });
}

/**
 * Element and attribute names repeat millions of times in a primary; they
 * are made into strings once and found again by their bytes.
 */
class NameCache {
  private readonly names = new Map<number, string[]>();

  get(buf: Buffer, start: number, end: number): string {
    let hash = end - start;
    for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + buf[i]!) | 0;
    const candidates = this.names.get(hash);
    if (candidates) {
      for (const name of candidates) if (sameBytes(name, buf, start, end)) return name;
    }
    const name = buf.toString('utf8', start, end);
    if (candidates) candidates.push(name);
    else this.names.set(hash, [name]);
    return name;
  }
}

function sameBytes(name: string, buf: Buffer, start: number, end: number): boolean {
  if (name.length !== end - start) return false;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

/** Attribute offsets of the current tag, decoded only when asked for. */
class LazyAttributes implements XmlAttributes {
  buf: Buffer = Buffer.alloc(0);
  base = 0;
  /** [nameStart, nameEnd, valueStart, valueEnd] per attribute. */
  readonly spans: number[] = [];
  count = 0;

  get(name: string): string | undefined {
    const { buf, spans } = this;
    for (let k = 0; k < this.count * 4; k += 4) {
      if (sameBytes(name, buf, spans[k]!, spans[k + 1]!)) return this.value(k);
    }
    return undefined;
  }

  all(): Record<string, string> {
    const out: Record<string, string> = {};
    for (let k = 0; k < this.count * 4; k += 4) {
      out[this.buf.toString('utf8', this.spans[k]!, this.spans[k + 1]!)] = this.value(k);
    }
    return out;
  }

  private value(k: number): string {
    const start = this.spans[k + 2]!;
    let value = this.buf.toString('utf8', start, this.spans[k + 3]!);
    // Attribute-value normalisation: literal white space becomes a space.
    if (/[\t\n\r]/.test(value)) value = value.replace(/\r\n|[\t\n\r]/g, ' ');
    return decodeEntities(value, this.base + start);
  }
}

export async function parseXmlStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  handlers: XmlHandlers,
  textElements: ReadonlySet<string> = new Set(),
): Promise<void> {
  const stack: string[] = [];
  const names = new NameCache();
  const attributes = new LazyAttributes();
  let sawRoot = false;
  let collecting: string | undefined;
  let collected: string[] = [];
  let buf: Buffer = Buffer.alloc(0);
  let base = 0; // document offset of buf[0]

  const fail = (reason: string, at: number): never => {
    throw new XmlSyntaxError(reason, base + at);
  };

  const addText = (text: string): void => {
    if (collecting !== undefined) collected.push(text);
  };

  const openTag = (name: string, at: number): void => {
    if (stack.length === 0 && sawRoot) fail(`second root element <${name}>`, at);
    sawRoot = true;
    stack.push(name);
    if (collecting === undefined && textElements.has(name)) {
      collecting = name;
      collected = [];
    }
    attributes.buf = buf;
    attributes.base = base;
    handlers.open(name, attributes);
  };

  const closeTag = (name: string, at: number): void => {
    const open = stack.pop();
    if (open !== name) fail(open === undefined ? `unexpected </${name}>` : `</${name}> closes <${open}>`, at);
    if (collecting === name && !stack.includes(name)) {
      handlers.text?.(name, collected.length === 1 ? collected[0]! : collected.join(''));
      collecting = undefined;
    }
    handlers.close(name);
  };

  /** Parses the start tag at buf[i] === '<'; returns the index after it, or -1 if incomplete. */
  const startTag = (i: number): number => {
    const end = buf.length;
    const spans = attributes.spans;
    let p = i + 1;
    while (p < end && !isNameEnd(buf[p]!)) p++;
    if (p >= end) return -1;
    if (p === i + 1) fail('missing element name', i);
    const nameEnd = p;
    let count = 0;
    for (;;) {
      while (p < end && isSpace(buf[p]!)) p++;
      if (p >= end) return -1;
      const b = buf[p]!;
      if (b === GT || b === SLASH) {
        if (b === SLASH && p + 1 >= end) return -1;
        if (b === SLASH && buf[p + 1] !== GT) fail('malformed tag', p);
        const name = names.get(buf, i + 1, nameEnd);
        attributes.count = count;
        openTag(name, i);
        if (b === GT) return p + 1;
        closeTag(name, i);
        return p + 2;
      }
      const attrStart = p;
      while (p < end && !isNameEnd(buf[p]!)) p++;
      const attrEnd = p;
      while (p < end && isSpace(buf[p]!)) p++;
      if (p + 1 >= end) return -1;
      if (buf[p] !== EQ || attrEnd === attrStart) fail('malformed attribute', p);
      p++;
      while (p < end && isSpace(buf[p]!)) p++;
      if (p >= end) return -1;
      const quote = buf[p]!;
      if (quote !== 0x22 && quote !== 0x27) fail('unquoted attribute value', p);
      const valueEnd = buf.indexOf(quote, p + 1);
      if (valueEnd < 0) return -1;
      const k = count * 4;
      for (let j = 0; j < k; j += 4) {
        if (
          spans[j + 1]! - spans[j]! === attrEnd - attrStart &&
          buf.compare(buf, attrStart, attrEnd, spans[j], spans[j + 1]) === 0
        ) {
          fail('duplicate attribute', attrStart);
        }
      }
      spans[k] = attrStart;
      spans[k + 1] = attrEnd;
      spans[k + 2] = p + 1;
      spans[k + 3] = valueEnd;
      count++;
      p = valueEnd + 1;
      if (p < end && !isSpace(buf[p]!) && buf[p] !== GT && buf[p] !== SLASH) fail('malformed tag', p);
    }
  };

  /** Consumes what it can of buf; returns the index of the first unconsumed byte. */
  const scan = (): number => {
    let pos = 0;
    const end = buf.length;
    while (pos < end) {
      const lt = buf.indexOf(LT, pos);
      if (lt < 0) {
        // Text runs to the end of the buffer; a split UTF-8 sequence or entity
        // is kept for the next chunk when text is being collected.
        if (collecting === undefined) return end;
        const amp = buf.lastIndexOf(AMP, end - 1);
        const keepFrom = amp >= pos && buf.indexOf(0x3b, amp) < 0 ? amp : utf8Boundary(buf, pos, end);
        if (keepFrom > pos) addText(decodeEntities(buf.toString('utf8', pos, keepFrom), base + pos));
        return keepFrom;
      }
      if (lt > pos && collecting !== undefined) addText(decodeEntities(buf.toString('utf8', pos, lt), base + pos));
      pos = lt;
      if (lt + 1 >= end) return pos;
      const next = buf[lt + 1]!;
      let after: number;
      if (next === SLASH) {
        const gt = buf.indexOf(GT, lt + 2);
        if (gt < 0) return pos;
        let nameEnd = gt;
        while (nameEnd > lt + 2 && isSpace(buf[nameEnd - 1]!)) nameEnd--;
        closeTag(names.get(buf, lt + 2, nameEnd), lt);
        after = gt + 1;
      } else if (next === QUESTION) {
        const close = buf.indexOf('?>', lt + 2);
        if (close < 0) return pos;
        after = close + 2;
      } else if (next === BANG) {
        if (lt + 4 > end) return pos;
        if (buf.toString('latin1', lt, lt + 4) === '<!--') {
          const close = buf.indexOf('-->', lt + 4);
          if (close < 0) return pos;
          after = close + 3;
        } else if (lt + 9 > end) {
          return pos;
        } else if (buf.toString('latin1', lt, lt + 9) === '<![CDATA[') {
          const close = buf.indexOf(']]>', lt + 9);
          if (close < 0) return pos;
          addText(buf.toString('utf8', lt + 9, close));
          after = close + 3;
        } else {
          const gt = buf.indexOf(GT, lt + 2);
          if (gt < 0) return pos;
          const bracket = buf.indexOf(0x5b, lt + 2);
          if (bracket >= 0 && bracket < gt) fail('DTD internal subsets are not supported', lt);
          after = gt + 1;
        }
      } else {
        after = startTag(lt);
        if (after < 0) return pos;
      }
      pos = after;
    }
    return pos;
  };

  for await (const chunk of source) {
    buf = buf.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length) : Buffer.concat([buf, chunk]);
    const consumed = scan();
    base += consumed;
    buf = buf.subarray(consumed);
  }
  if (buf.toString('latin1').trim() !== '') fail('unexpected end of document', 0);
  if (!sawRoot) fail('no root element', 0);
  if (stack.length > 0) fail(`unexpected end of document inside <${stack[stack.length - 1]}>`, buf.length);
}

/** The start of a UTF-8 sequence cut by the buffer's end, or `end` if none is cut. */
function utf8Boundary(buf: Buffer, from: number, end: number): number {
  for (let i = end - 1; i >= from && i >= end - 4; i--) {
    const b = buf[i]!;
    if (b < 0x80) return end;
    if (b >= 0xc0) {
      const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return i + length > end ? i : end;
    }
  }
  return end;
}
