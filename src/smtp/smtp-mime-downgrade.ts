/*
 * smtp-mime-downgrade - 8BITMIME to 7BIT conversion for a server that does
 * not announce 8BITMIME, as Postfix's smtp(8) does unless
 * disable_mime_output_conversion is set: the content is followed through
 * its MIME structure (multipart parts by their boundaries, message/rfc822
 * bodies as messages of their own, up to mime_nesting_limit levels), a
 * leaf part declared "Content-Transfer-Encoding: 8bit" or "binary" gets
 * "quoted-printable" instead and its body is encoded so (RFC 2045 6.7, soft
 * line breaks at 76 columns), and a multipart or message part declared
 * 8bit or binary is relabelled 7bit once its content is. Header lines and
 * parts declared 7bit, quoted-printable or base64 pass as they are. Works
 * line by line on LF-terminated content; only one part's header block is
 * held at a time.
 */

/** A MIME entity being read: its place among its parent's parts and what its header said. */
interface Entity {
  /** The boundary of the multipart this entity is, once its header is read. */
  boundary?: string;
  /** True while its header block is being read. */
  inHeader: boolean;
  /** True when its body lines are to be quoted-printable encoded. */
  encode: boolean;
  /** The type a part of this multipart has when it says none (message/rfc822 in a digest). */
  partDefault: string;
  /** This entity's own type when its header names none. */
  defaultType: string;
}

const QP_LINE = 76;

/** The header block's Content-Type (type/subtype, boundary) and Content-Transfer-Encoding. */
function mimeHeaders(header: readonly string[], defaultType: string): { type: string; boundary?: string; encoding: string } {
  let type = defaultType;
  let boundary: string | undefined;
  let encoding = '7bit';
  for (const field of header) {
    const colon = field.indexOf(':');
    if (colon <= 0) continue;
    const name = field.slice(0, colon).trim().toLowerCase();
    const value = field.slice(colon + 1).replace(/\n[ \t]/g, ' ').trim();
    if (name === 'content-type') {
      const found = /^([^\s;/]+)\s*\/\s*([^\s;]+)/.exec(value);
      if (found !== null) type = `${(found[1] as string).toLowerCase()}/${(found[2] as string).toLowerCase()}`;
      const param = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^\s;]+))/i.exec(value);
      if (param !== null) boundary = param[1] ?? param[2];
    } else if (name === 'content-transfer-encoding') {
      encoding = value.toLowerCase();
    }
  }
  return { type, ...(boundary === undefined ? {} : { boundary }), encoding };
}

/** One line (without its LF) as quoted-printable, with soft line breaks; the result ends in LF. */
export function quotedPrintableLine(line: Buffer): string {
  let out = '';
  let column = 0;
  for (let i = 0; i < line.length; i++) {
    const byte = line[i] as number;
    const last = i === line.length - 1;
    // Trailing white space would be lost in transit: it is encoded.
    const literal = (byte >= 33 && byte <= 126 && byte !== 61) || ((byte === 32 || byte === 9) && !last);
    const piece = literal ? String.fromCharCode(byte) : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    // A soft break leaves room for the "=" that ends the line.
    if (column + piece.length > QP_LINE - 1 && !(last && column + piece.length <= QP_LINE)) {
      out += '=\n';
      column = 0;
    }
    out += piece;
    column += piece.length;
  }
  return `${out}\n`;
}

/** Converts content chunk by chunk; write() and end() return what to send. */
export class MimeDowngrade {
  private readonly stack: Entity[] = [{ inHeader: true, encode: false, partDefault: 'text/plain', defaultType: 'text/plain' }];
  private header: string[] = [];
  private rest: Buffer = Buffer.alloc(0);

  constructor(private readonly nestingLimit: number) {}

  /** Takes a chunk; returns the converted complete lines in it. */
  write(chunk: Buffer): Buffer {
    const data = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    const out: Buffer[] = [];
    let start = 0;
    for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
      this.line(data.subarray(start, nl), out);
      start = nl + 1;
    }
    this.rest = Buffer.from(data.subarray(start));
    return Buffer.concat(out);
  }

  /** Ends the content. */
  end(): Buffer {
    const out: Buffer[] = [];
    if (this.rest.length > 0) this.line(this.rest, out);
    this.rest = Buffer.alloc(0);
    if (this.header.length > 0) this.endHeader(out);
    return Buffer.concat(out);
  }

  private get current(): Entity {
    return this.stack[this.stack.length - 1] as Entity;
  }

  private line(line: Buffer, out: Buffer[]): void {
    if (this.current.inHeader) {
      const text = line.toString('latin1');
      if (text === '') {
        this.endHeader(out);
        out.push(Buffer.from('\n'));
        return;
      }
      if ((text.startsWith(' ') || text.startsWith('\t')) && this.header.length > 0) {
        this.header[this.header.length - 1] += `\n${text}`;
        return;
      }
      if (/^[\x21-\x39\x3b-\x7e]+:/.test(text)) {
        this.header.push(text);
        return;
      }
      // Not a header field: the header block ended without its empty line, and this line is the body's first.
      this.endHeader(out);
    }
    if (line[0] === 45 && line[1] === 45 && this.boundaryLine(line, out)) return;
    out.push(this.current.encode ? Buffer.from(quotedPrintableLine(line), 'latin1') : Buffer.concat([line, Buffer.from('\n')]));
  }

  /** A "--boundary" or "--boundary--" line of an enclosing multipart; true when it was one. */
  private boundaryLine(line: Buffer, out: Buffer[]): boolean {
    const text = line.toString('latin1').replace(/[ \t]+$/, '');
    for (let depth = this.stack.length - 1; depth >= 0; depth--) {
      const boundary = (this.stack[depth] as Entity).boundary;
      if (boundary === undefined) continue;
      const closing = text === `--${boundary}--`;
      if (text !== `--${boundary}` && !closing) continue;
      const multipart = this.stack[depth] as Entity;
      this.stack.length = depth + 1;
      out.push(Buffer.concat([line, Buffer.from('\n')]));
      if (closing) {
        // The epilogue belongs to the multipart and passes untouched.
        multipart.boundary = undefined;
      } else {
        this.stack.push({ inHeader: true, encode: false, partDefault: 'text/plain', defaultType: multipart.partDefault });
      }
      return true;
    }
    return false;
  }

  /** Decides what the entity whose header just ended is, and sends its header (relabelled if need be). */
  private endHeader(out: Buffer[]): void {
    const entity = this.current;
    entity.inHeader = false;
    const { type, boundary, encoding } = mimeHeaders(this.header, entity.defaultType);
    const eightBit = encoding === '8bit' || encoding === 'binary';
    const nested = this.stack.length < this.nestingLimit;
    let label: string | undefined;
    if (type.startsWith('multipart/') && boundary !== undefined && nested) {
      entity.boundary = boundary;
      entity.partDefault = type === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
      if (eightBit) label = '7bit';
    } else if (type === 'message/rfc822' && nested) {
      if (eightBit) label = '7bit';
      // Its body is a message: a header block of its own comes next.
      this.stack.push({ inHeader: true, encode: false, partDefault: 'text/plain', defaultType: 'text/plain' });
    } else if (eightBit) {
      entity.encode = true;
      label = 'quoted-printable';
    }
    for (const field of this.header) {
      const relabel = label !== undefined && /^content-transfer-encoding\s*:/i.test(field);
      out.push(Buffer.from(`${relabel ? `Content-Transfer-Encoding: ${label}` : field}\n`, 'latin1'));
    }
    this.header = [];
  }
}

/** The content converted, for a server without 8BITMIME. */
export async function* downgradeTo7bit(source: AsyncIterable<Buffer>, nestingLimit: number): AsyncGenerator<Buffer> {
  const downgrade = new MimeDowngrade(nestingLimit);
  for await (const chunk of source) {
    const out = downgrade.write(chunk);
    if (out.length > 0) yield out;
  }
  const last = downgrade.end();
  if (last.length > 0) yield last;
}
