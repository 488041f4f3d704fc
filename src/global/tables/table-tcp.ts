/*
 * table-tcp - tcp:host:port, Postfix's simple client/server lookup protocol
 * (tcp_table(5)): each lookup sends "get KEY\n" and reads one line, "200
 * DATA" (found), "500 TEXT" (not found) or "400 TEXT" (try again later),
 * with "%", white space and non-printable bytes of the key and the data
 * written as %XX. Replies are at most 4096 bytes with the newline.
 * Connections are kept and reused (table-stream.ts). A server that cannot
 * be reached, times out, answers 400 or breaks the protocol is a temporary
 * PetrelError. The key is sent as given, without partial keys.
 */
import { parseHostPort, type ReplyDecoder } from '../../util/stream-client.js';
import { PetrelError } from '../errors.js';
import { openStreamTableClient, type StreamTableLimits } from './table-stream.js';
import type { LookupTable } from './table.js';
import { printable } from '../../util/printable.js';

/** Postfix's tcp: limits (100 s per request, 4096-byte replies); connections as socketmap's. */
export const TCP_LIMITS: StreamTableLimits = { timeoutMs: 100_000, maxReply: 4096, idleMs: 10_000, ttlMs: 100_000, maxConnections: 4 };

const NEWLINE = 0x0a;
const PERCENT = 0x25;

/** Splits the stream at newlines; a line longer than maxLength (newline included) is an error. */
class LineDecoder implements ReplyDecoder {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly maxLength: number) {}

  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const lines: Buffer[] = [];
    for (let end = this.buffered.indexOf(NEWLINE); end >= 0; end = this.buffered.indexOf(NEWLINE)) {
      if (end + 1 > this.maxLength) break;
      lines.push(this.buffered.subarray(0, end));
      this.buffered = this.buffered.subarray(end + 1);
    }
    const pending = this.buffered.indexOf(NEWLINE);
    if ((pending < 0 ? this.buffered.length : pending + 1) > this.maxLength) throw new Error(`reply text longer than ${this.maxLength} bytes`);
    return lines;
  }
}

/** text's UTF-8 bytes with "%", white space and non-printable bytes as %XX. */
export function hexQuote(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte > 0x20 && byte < 0x7f && byte !== PERCENT ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The text %XX-quoted in quoted (hex digits in any case), or undefined when a % is not followed by two hex digits. */
export function hexUnquote(quoted: Buffer): string | undefined {
  const out = Buffer.allocUnsafe(quoted.length);
  let n = 0;
  for (let i = 0; i < quoted.length; i++) {
    const byte = quoted[i] as number;
    if (byte !== PERCENT) {
      out[n++] = byte;
      continue;
    }
    const hex = quoted.subarray(i + 1, i + 3).toString('latin1');
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    out[n++] = parseInt(hex, 16);
    i += 2;
  }
  return out.subarray(0, n).toString('utf8');
}

/** Opens tcp:host:port; no connection is made before the first lookup. */
export async function openTcp(name: string, spec: string, limits: StreamTableLimits = TCP_LIMITS): Promise<LookupTable> {
  const endpoint = parseHostPort(name);
  if (endpoint === undefined) throw new PetrelError('table_spec', `${spec}: expected tcp:host:port`);
  const client = openStreamTableClient(spec, 'tcp', name, endpoint, limits, () => new LineDecoder(limits.maxReply));
  return {
    spec,
    pattern: true,
    async lookup(key) {
      const reply = await client.request(Buffer.from(`get ${hexQuote(key)}\n`, 'latin1'));
      const head = reply.subarray(0, 4).toString('latin1');
      const text = /^\d\d\d\s$/.test(head) ? hexUnquote(reply.subarray(4)) : undefined;
      const shown = (): string => printable(reply.subarray(0, 100).toString('latin1'), { replacement: '_' });
      if (text === undefined) throw client.failed(`malformed reply from the server: "${shown()}"`);
      if (head[0] === '2') return text;
      if (head[0] === '5') return undefined;
      if (head[0] === '4') throw client.failed(`the server reports a temporary error: ${text.slice(0, 200)}`);
      throw client.failed(`bad status code from the server: "${shown()}"`);
    },
    close: () => client.close(),
  };
}
