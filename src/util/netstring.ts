/*
 * netstring - D. J. Bernstein's netstrings ("12:hello world!,"): a decimal
 * byte count, a colon, that many bytes and a comma. encodeNetstring frames
 * one payload; NetstringDecoder takes a stream's chunks and hands out whole
 * payloads, refusing one longer than its limit before reading it. Used by
 * the socketmap: table client (socketmap_table(5)); follows Postfix's
 * netstring(3).
 */

/** A stream that is not a well-formed sequence of netstrings, or one over the size limit. */
export class NetstringError extends Error {}

/** Frames payload as one netstring. */
export function encodeNetstring(payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([Buffer.from(`${body.length}:`, 'latin1'), body, Buffer.from(',', 'latin1')]);
}

const COLON = 0x3a;
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;

/** Splits a byte stream into netstring payloads. */
export class NetstringDecoder {
  private readonly maxLength: number;
  private buffered: Buffer = Buffer.alloc(0);

  /** maxLength: the largest payload accepted, in bytes. */
  constructor(maxLength: number) {
    this.maxLength = maxLength;
  }

  /** True when part of a netstring is waiting for more bytes. */
  get partial(): boolean {
    return this.buffered.length > 0;
  }

  /** The payloads completed by chunk, in order; throws NetstringError on bad framing or an oversize length. */
  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      const payload = this.next();
      if (payload === undefined) return out;
      out.push(payload);
    }
  }

  /** One payload from the buffer, or undefined when it is not all there yet. */
  private next(): Buffer | undefined {
    const buf = this.buffered;
    let length = 0;
    let i = 0;
    for (; i < buf.length && buf[i] !== COLON; i++) {
      const c = buf[i] as number;
      if (c < ZERO || c > NINE) throw new NetstringError(`malformed netstring: bad length character 0x${c.toString(16).padStart(2, '0')}`);
      length = length * 10 + (c - ZERO);
      if (length > this.maxLength) throw new NetstringError(`netstring too long: more than ${this.maxLength} bytes`);
    }
    if (i === buf.length) return undefined;
    if (i === 0) throw new NetstringError('malformed netstring: empty length');
    const start = i + 1;
    const end = start + length;
    if (buf.length <= end) return undefined;
    if (buf[end] !== COMMA) throw new NetstringError('malformed netstring: no comma after the payload');
    this.buffered = buf.subarray(end + 1);
    return buf.subarray(start, end);
  }
}
