/*
 * smtpd-transaction - one mail transaction of an SMTP session: the sender
 * and its parameters from MAIL FROM, the queue sink (the cleanup service,
 * or maildrop/ for "sendmail -bs") opened at the first accepted recipient
 * (its queue ID logged as "ID: client=..."), each
 * recipient passed on with its DSN parameters, then the Received: header
 * and the content (DATA or BDAT chunks) streamed to cleanup, and the
 * "250 2.0.0 Ok: queued as ID" verdict only after cleanup reports the
 * queue file durable. Used by smtpd-commands.ts; follows smtpd(8).
 */
import { CleanupClient, receivingOptions, type CleanupReply, type CleanupRequest } from '../global/cleanup-clnt.js';
import type { Params } from '../global/params/param-registry.js';
import { rfc5322Date } from '../global/mail-date.js';
import { decodeXtext } from '../global/xtext.js';
import { msg } from '../util/msg.js';
import type { MessageActions } from './smtpd-check-types.js';
import type { SmtpdSession } from './smtpd-session.js';

/** A reply ending a transaction. */
export interface TransactionReply {
  readonly code: number;
  readonly text: string;
}

/** Where a transaction's message goes: cleanup for the network, maildrop/ for "sendmail -bs". */
export interface QueueSink {
  readonly id: string;
  recipient(rcpt: Omit<Extract<CleanupRequest, { op: 'rcpt' }>, 'op'>): Promise<void>;
  /** A chunk of content with LF line endings. */
  content(chunk: Buffer): Promise<void>;
  /** The message actions of access tables (the network's sink only: local submissions are not checked). */
  actions?(actions: Omit<Extract<CleanupRequest, { op: 'actions' }>, 'op'>): Promise<void>;
  /** The verdict once the queue file is durable (or refused). */
  finish(): Promise<CleanupReply>;
  abort(): void;
}

/** Opens a sink for a message from sender with the client attributes; a refusal when it cannot. */
export type OpenQueueSink = (sender: string, attrs: Readonly<Record<string, string>>) => Promise<QueueSink | Exclude<CleanupReply, { readonly status: 'ok' }>>;

/** The network's queue sink: the cleanup service. */
export function cleanupSink(params: Params): OpenQueueSink {
  return (sender, attrs) => CleanupClient.begin(params, { op: 'begin', sender, arrival: Date.now(), attrs, local: false, ...receivingOptions(params) });
}

let transactions = 0;

/** process id, seconds, microseconds and a counter, in hex, as Postfix's smtpd names a transaction for policy servers. */
function transactionInstance(): string {
  const now = Date.now();
  return `${process.pid.toString(16)}.${Math.floor(now / 1000).toString(16)}.${((now % 1000) * 1000).toString(16)}.${(transactions++).toString(16)}`;
}

/** One mail transaction. */
export class Transaction {
  readonly recipients: string[] = [];
  /** RCPT commands tried, accepted or not. */
  rcptTried = 0;
  private cleanup: QueueSink | undefined;
  private size = 0;
  /** Postfix's "instance" of the policy protocol: unique per transaction within the process's life. */
  readonly instance = transactionInstance();
  private tooBig = false;
  private writeError: Error | undefined;
  private lastWrite: Promise<void> = Promise.resolve();

  constructor(
    private readonly session: SmtpdSession,
    readonly sender: string,
    readonly mailParams: ReadonlyMap<string, string>,
  ) {}

  /** The content received so far, in bytes. */
  get contentSize(): number {
    return this.size;
  }

  /** The queue ID once cleanup has given one. */
  get id(): string | undefined {
    return this.cleanup?.id;
  }

  /** Hands an accepted recipient to cleanup (opening it for the first); a refusal when cleanup cannot be reached. */
  async addRecipient(recipient: string, rewritten: string, params: ReadonlyMap<string, string>): Promise<TransactionReply | undefined> {
    if (this.cleanup === undefined) {
      const s = this.session;
      const f = s.forwarded;
      const attrs: Record<string, string> = {
        client_name: f?.name ?? s.client.name,
        client_address: f?.address ?? s.client.address,
        client_port: f?.port ?? String(s.client.port),
        helo_name: f?.helo ?? s.helo ?? '',
        protocol_name: f?.proto ?? s.protocol,
      };
      if (s.sasl !== undefined) {
        attrs.sasl_method = s.sasl.method;
        attrs.sasl_username = s.sasl.username;
      }
      const envid = this.mailParams.get('ENVID');
      const ret = this.mailParams.get('RET');
      const body = this.mailParams.get('BODY');
      if (envid !== undefined) attrs.envid = decodeXtext(envid);
      if (ret !== undefined) attrs.ret = ret.toUpperCase();
      if (body !== undefined) attrs.body = body.toUpperCase();
      const opened = await s.services.openSink(this.sender, attrs).catch((err: unknown) => {
        msg.warn(`connect to cleanup service: ${(err as Error).message}`);
        return undefined;
      });
      if (opened === undefined || 'status' in opened) return { code: 451, text: '4.3.0 Error: queue file write error' };
      this.cleanup = opened;
      const auth = s.sasl === undefined ? '' : `, sasl_method=${s.sasl.method}, sasl_username=${s.sasl.username}`;
      const origin = f === undefined ? '' : `, orig_client=${f.name ?? 'unknown'}[${f.address ?? 'unknown'}]`;
      msg.info(`${opened.id}: client=${s.peer}${auth}${origin}`);
    }
    await this.cleanup.recipient({
      address: rewritten,
      original: recipient,
      notify: (params.get('NOTIFY') ?? '').toUpperCase(),
      orcpt: decodeXtext(params.get('ORCPT') ?? ''),
    });
    this.recipients.push(recipient);
    return undefined;
  }

  /** Sends the headers access tables prepend (PREPEND) and the Received: header that start the content. */
  begin(prepend: readonly string[]): void {
    const s = this.session;
    const p = s.params;
    const f = s.forwarded;
    const lines = [...prepend, `Received: from ${f?.helo ?? s.helo ?? ''} (${f?.name ?? s.client.name} [${f?.address ?? s.client.address}])`];
    if (s.tls !== undefined && p.smtpd_tls_received_header) {
      lines.push(`\t(using ${s.tls.protocol} with cipher ${s.tls.cipher} (${s.tls.bits}/${s.tls.bits} bits))`);
      if (!(p.smtpd_tls_ask_ccert || p.smtpd_tls_req_ccert)) lines.push('\t(No client certificate requested)');
      else if (s.tls.fingerprint === undefined) lines.push('\t(Client did not present a certificate)');
      else lines.push(`\t(Client CN "${s.tls.subject ?? ''}", Issuer "${s.tls.issuer ?? ''}" (${s.tls.verified ? 'verified OK' : 'not verified'}))`);
    }
    if (s.sasl !== undefined && p.smtpd_sasl_authenticated_header) lines.push(`\t(Authenticated sender: ${s.sasl.username})`);
    const forClause = this.recipients.length === 1 ? `\n\tfor <${this.recipients[0] as string}>` : '';
    lines.push(`\tby ${p.myhostname} (${p.mail_name}) with ${s.protocol} id ${this.id ?? ''}${forClause};`, `\t${rfc5322Date(new Date())}`, '');
    this.write(Buffer.from(lines.join('\n'), 'utf8'));
  }

  /** Passes content on (LF line endings), counting it against message_size_limit. */
  write(chunk: Buffer): void {
    if (chunk.length === 0 || this.tooBig) return;
    this.size += chunk.length;
    const limit = this.session.params.message_size_limit;
    if (limit > 0 && this.size > limit) {
      this.tooBig = true;
      return;
    }
    const cleanup = this.cleanup as QueueSink;
    this.lastWrite = cleanup.content(chunk).catch((err: Error) => {
      this.writeError ??= err;
    });
  }

  /** Ends the content, with the message actions of access tables: the verdict of cleanup, or of the size limit. */
  async finish(actions: MessageActions): Promise<TransactionReply> {
    const cleanup = this.cleanup as QueueSink;
    for (const bcc of actions.bcc) this.lastWrite = cleanup.recipient({ address: bcc, original: bcc, notify: 'NEVER', orcpt: '' });
    if (actions.hold || actions.discard || actions.redirect !== undefined || actions.filter !== undefined) {
      const { hold, discard, redirect, filter } = actions;
      this.lastWrite = cleanup.actions?.({ hold, discard, ...(redirect === undefined ? {} : { redirect }), ...(filter === undefined ? {} : { filter }) }) ?? this.lastWrite;
    }
    await this.lastWrite;
    if (this.tooBig) {
      this.abort();
      return { code: 552, text: '5.3.4 Error: message file too big' };
    }
    if (this.writeError !== undefined) {
      msg.warn(`${cleanup.id}: cleanup connection: ${this.writeError.message}`);
      this.abort();
      return { code: 451, text: '4.3.0 Error: queue file write error' };
    }
    this.cleanup = undefined;
    const reply = await cleanup.finish().catch((err: Error) => {
      msg.warn(`${cleanup.id}: cleanup connection: ${err.message}`);
      return { status: 'defer' as const, dsn: '4.3.0', text: 'Error: queue file write error' };
    });
    if (reply.status === 'ok') return { code: 250, text: `2.0.0 Ok: queued as ${reply.id}` };
    const code = reply.status === 'reject' ? (reply.dsn.startsWith('5.3.4') ? 552 : 550) : 451;
    return { code, text: `${reply.dsn} ${reply.text}` };
  }

  /** Abandons the transaction (RSET, a refused message, the client gone); cleanup discards its file. */
  abort(): void {
    this.cleanup?.abort();
    this.cleanup = undefined;
  }
}
