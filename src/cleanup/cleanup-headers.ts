/*
 * cleanup-headers - the header work cleanup(8) does as the content streams
 * through: it collects the header block (each header cut at
 * header_size_limit, the excess discarded), counts
 * Received: headers against hopcount_limit, drops the primary headers
 * message_drop_headers names (Bcc:, Content-Length:, Resent-Bcc: and
 * Return-Path: by default, from all mail, as Postfix), and for local
 * submissions (or always_add_missing_headers) adds Date:, Message-ID:,
 * From: and "To: undisclosed-recipients:;" when missing; for "sendmail -t"
 * it collects the To:, Cc: and Bcc: addresses first.
 * With content checks (cleanup-content-checks.ts) each logical header is
 * inspected before that work, and the body is followed line by line through
 * its MIME structure (cleanup-mime.ts) for the checks of part headers and
 * body lines; without them the body passes through untouched. Lines are
 * LF-terminated.
 */
import { randomBytes } from 'node:crypto';
import { headerAddresses, rewriteHeaderAddresses } from '../global/addr/addr-header.js';
import { rfc5322Date } from '../global/mail-date.js';
import type { CheckInput, MessageInspector } from './cleanup-content-checks.js';
import { MimeState, primaryHeaderClass, type MimeItem, type MimeOptions } from './cleanup-mime.js';

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
  /** The names of primary headers to remove (message_drop_headers), lower case. */
  readonly dropHeaders: ReadonlySet<string>;
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
  /** The content checks of this message and how its MIME structure is followed, when it is inspected. */
  readonly inspection?: { readonly inspector: MessageInspector; readonly mime: MimeOptions };
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
  /** The body's MIME state while body lines are inspected; undefined when the body passes through. */
  private body: MimeState | undefined;
  private bodyPending = '';

  constructor(private readonly policy: HeaderPolicy) {}

  /** The Message-ID and hop count, known once the header block is over. */
  get result(): HeaderOutcome {
    return this.outcome;
  }

  /** True once the body has started. */
  get bodyStarted(): boolean {
    return this.inBody;
  }

  /** Takes a chunk; returns what to store now. Only header lines are decoded unless the body is inspected. */
  async write(chunk: Buffer): Promise<Buffer> {
    if (this.inBody) return this.body === undefined ? chunk : this.bodyChunk(chunk);
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
      await this.headerLine(line, out);
    }
    if (start < chunk.length) out.push(this.body === undefined ? chunk.subarray(start) : await this.bodyChunk(chunk.subarray(start)));
    return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
  }

  /** Body lines through the MIME state and the checks: the lines to store in their place. */
  private async bodyLines(lines: readonly string[], final: boolean): Promise<Buffer> {
    const body = this.body as MimeState;
    const items: MimeItem[] = lines.flatMap((line) => body.push(line));
    if (final) items.push(...body.end());
    const inputs = items.flatMap((item): CheckInput[] => (item.kind === 'header' ? [{ cls: item.cls, text: item.text }] : item.inspect ? [{ cls: 'body', text: item.text }] : []));
    const results = await (this.policy.inspection?.inspector as MessageInspector).inspect(inputs);
    let next = 0;
    const stored = items.flatMap((item) => (item.kind === 'line' && !item.inspect ? [item.text] : (results[next++] as string[])));
    return Buffer.from(stored.map((text) => `${text}\n`).join(''), 'latin1');
  }

  private bodyChunk(chunk: Buffer): Promise<Buffer> {
    const text = this.bodyPending + chunk.toString('latin1');
    const lines = text.split('\n');
    this.bodyPending = lines.pop() as string;
    return this.bodyLines(lines, false);
  }

  /** One line of the header block: a header, a continuation, or the line that ends the block. */
  private async headerLine(line: string, out: Buffer[]): Promise<void> {
    const limit = this.policy.headerSizeLimit;
    if ((line.startsWith(' ') || line.startsWith('\t')) && this.headers.length > 0) {
      // header_size_limit bounds each header; the excess is discarded, as Postfix does.
      const last = this.headers.length - 1;
      const room = limit - (this.headers[last] as string).length - 1;
      if (room > 0) this.headers[last] += `\n${line.slice(0, room)}`;
    } else if (/^[\x21-\x39\x3b-\x7e]+:/.test(line)) {
      this.headers.push(line.slice(0, limit));
    } else {
      out.push(await this.endHeaders(line === ''));
      if (line !== '') out.push(this.body === undefined ? Buffer.from(`${line}\n`, 'latin1') : await this.bodyLines([line], false));
    }
  }

  /** Ends the content; returns the last bytes to store. */
  async finish(): Promise<Buffer> {
    const out: Buffer[] = [];
    if (!this.inBody) {
      if (this.pending !== '' && /^[\x21-\x39\x3b-\x7e]+:/.test(this.pending)) {
        this.headers.push(this.pending);
        this.pending = '';
      }
      out.push(await this.endHeaders(true));
    }
    const rest = this.pending + this.bodyPending;
    this.pending = '';
    this.bodyPending = '';
    if (this.body !== undefined) out.push(await this.bodyLines(rest === '' ? [] : [rest], true));
    else if (rest !== '') out.push(Buffer.from(`${rest}\n`, 'latin1'));
    return Buffer.concat(out);
  }

  /** The header checks of the primary header block; the body's MIME state when the body is inspected too. */
  private async inspectHeaders(inspector: MessageInspector, mime: MimeOptions): Promise<void> {
    const inputs = this.headers.map((text): CheckInput => ({ cls: primaryHeaderClass(text, mime), text }));
    this.headers = (await inspector.inspect(inputs)).flat();
    const checks = inspector.checks;
    if (checks.has('body') || (mime.mime && (checks.has('mime') || checks.has('nested')))) {
      this.body = new MimeState(mime, this.headers.find((h) => headerName(h) === 'content-type'));
    }
  }

  private async endHeaders(sawEmptyLine: boolean): Promise<Buffer> {
    this.inBody = true;
    const p = this.policy;
    if (p.inspection !== undefined) await this.inspectHeaders(p.inspection.inspector, p.inspection.mime);
    const present = new Set(this.headers.map(headerName));
    const extracted = p.extractRecipients
      ? this.headers.filter((h) => ['to', 'cc', 'bcc'].includes(headerName(h))).flatMap((h) => headerAddresses(h.slice(h.indexOf(':') + 1)))
      : [];
    let kept = this.headers.filter((h) => !p.dropHeaders.has(headerName(h)));
    const rewrite = p.rewriteAddress;
    if (rewrite !== undefined) kept = kept.map((h) => rewriteHeaderAddresses(h, rewrite));
    let messageId = '';
    for (const h of kept) {
      if (headerName(h) === 'message-id') messageId = h.slice(h.indexOf(':') + 1).trim();
    }
    // Counted before any header was dropped: message_drop_headers must not turn the loop limit off.
    const hops = this.headers.filter((h) => headerName(h) === 'received' || headerName(h) === 'delivered-to').length;
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
