/*
 * cleanup-headers - the header work cleanup(8) does as the content streams
 * through: it collects the header block (each header cut at
 * header_size_limit, the excess discarded), counts
 * Received: headers against hopcount_limit, drops Return-Path:, and for
 * local submissions (or always_add_missing_headers) adds Date:, Message-ID:,
 * From: and "To: undisclosed-recipients:;" when missing and removes Bcc:,
 * and for "sendmail -t" collects the To:, Cc: and Bcc: addresses.
 * The body passes through untouched. Lines are LF-terminated.
 */
import { randomBytes } from 'node:crypto';
import { headerAddresses, rewriteHeaderAddresses } from '../global/addr/addr-header.js';
import { rfc5322Date } from '../global/mail-date.js';

/** What the header pass decided. */
export interface HeaderOutcome {
  readonly messageId: string;
  readonly hops: number;
  /** The To:, Cc: and Bcc: addresses when extraction was asked for. */
  readonly extracted: readonly string[];
}

/** How headers are fixed for this message. */
export interface HeaderPolicy {
  readonly addMissing: boolean;
  readonly removeBcc: boolean;
  readonly sender: string;
  readonly myhostname: string;
  readonly queueId: string;
  readonly undisclosedHeader: string;
  readonly headerSizeLimit: number;
  /** Collect the addresses of To:, Cc: and Bcc: (sendmail -t). */
  readonly extractRecipients: boolean;
  /** The sender's full name for an added From: header (sendmail -F), or "". */
  readonly fullName: string;
  /** Rewrites one address found in a sender or recipient header (masquerading). */
  readonly rewriteAddress?: (address: string, addressClass: 'header_sender' | 'header_recipient') => string;
}

function headerName(line: string): string {
  const colon = line.indexOf(':');
  return colon > 0 ? line.slice(0, colon).trim().toLowerCase() : '';
}

/** Streams content through the header pass; write() returns the bytes to store. */
export class HeaderPass {
  private pending = '';
  private headers: string[] = [];
  private inBody = false;
  private outcome: HeaderOutcome = { messageId: '', hops: 0, extracted: [] };

  constructor(private readonly policy: HeaderPolicy) {}

  /** The Message-ID and hop count, known once the header block is over. */
  get result(): HeaderOutcome {
    return this.outcome;
  }

  /** True once the body has started. */
  get bodyStarted(): boolean {
    return this.inBody;
  }

  /** Takes a chunk; returns what to store now. Only header lines are decoded: the body passes as it came. */
  write(chunk: Buffer): Buffer {
    if (this.inBody) return chunk;
    const out: Buffer[] = [];
    let start = 0;
    while (!this.inBody) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) {
        this.pending += chunk.toString('latin1', start);
        return Buffer.concat(out);
      }
      const line = this.pending + chunk.toString('latin1', start, nl);
      this.pending = '';
      start = nl + 1;
      this.headerLine(line, out);
    }
    if (start < chunk.length) out.push(chunk.subarray(start));
    return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
  }

  /** One line of the header block: a header, a continuation, or the line that ends the block. */
  private headerLine(line: string, out: Buffer[]): void {
    const limit = this.policy.headerSizeLimit;
    if ((line.startsWith(' ') || line.startsWith('\t')) && this.headers.length > 0) {
      // header_size_limit bounds each header; the excess is discarded, as Postfix does.
      const last = this.headers.length - 1;
      const room = limit - (this.headers[last] as string).length - 1;
      if (room > 0) this.headers[last] += `\n${line.slice(0, room)}`;
    } else if (/^[\x21-\x39\x3b-\x7e]+:/.test(line)) {
      this.headers.push(line.slice(0, limit));
    } else {
      out.push(this.endHeaders(line === ''));
      if (line !== '') out.push(Buffer.from(`${line}\n`, 'latin1'));
    }
  }

  /** Ends the content; returns the last bytes to store. */
  finish(): Buffer {
    const out: Buffer[] = [];
    if (!this.inBody) {
      if (this.pending !== '' && /^[\x21-\x39\x3b-\x7e]+:/.test(this.pending)) {
        this.headers.push(this.pending);
        this.pending = '';
      }
      out.push(this.endHeaders(true));
    }
    if (this.pending !== '') out.push(Buffer.from(`${this.pending}\n`, 'latin1'));
    this.pending = '';
    return Buffer.concat(out);
  }

  private endHeaders(sawEmptyLine: boolean): Buffer {
    this.inBody = true;
    const p = this.policy;
    const present = new Set(this.headers.map(headerName));
    const extracted = p.extractRecipients
      ? this.headers.filter((h) => ['to', 'cc', 'bcc'].includes(headerName(h))).flatMap((h) => headerAddresses(h.slice(h.indexOf(':') + 1)))
      : [];
    let kept = this.headers.filter((h) => headerName(h) !== 'return-path');
    const rewrite = p.rewriteAddress;
    if (rewrite !== undefined) kept = kept.map((h) => rewriteHeaderAddresses(h, rewrite));
    if (p.removeBcc) kept = kept.filter((h) => headerName(h) !== 'bcc');
    let messageId = '';
    for (const h of kept) {
      if (headerName(h) === 'message-id') messageId = h.slice(h.indexOf(':') + 1).trim();
    }
    const hops = kept.filter((h) => headerName(h) === 'received' || headerName(h) === 'delivered-to').length;
    if (p.addMissing) {
      if (!present.has('date')) kept.push(`Date: ${rfc5322Date(new Date())}`);
      if (!present.has('message-id')) {
        messageId = `<${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}.${p.queueId}.${randomBytes(3).toString('hex')}@${p.myhostname}>`;
        kept.push(`Message-Id: ${messageId}`);
      }
      if (!present.has('from')) {
        const from = p.sender === '' ? `MAILER-DAEMON@${p.myhostname}` : p.sender;
        kept.push(`From: ${p.fullName === '' ? from : `${p.fullName} <${from}>`}`);
      }
      if (!present.has('to') && !present.has('cc') && !present.has('resent-to') && p.undisclosedHeader !== '') kept.push(p.undisclosedHeader);
    }
    this.outcome = { messageId, hops, extracted };
    this.headers = [];
    const block = kept.map((h) => `${h}\n`).join('');
    return Buffer.from(`${block}${sawEmptyLine || kept.length > 0 ? '\n' : ''}`, 'latin1');
  }
}
