/*
 * smtpd-session - the SMTP conversation of one client, on smtp-server
 * (DESIGN §7): Postfix's log lines ("connect from", "ID: client=",
 * "NOQUEUE: reject: RCPT ...", "disconnect from ... commands=N"), the
 * recipient checks of smtpd-checks.ts, a cleanup connection opened at the
 * first accepted recipient, DATA streamed to cleanup behind a Received:
 * header with line endings normalized, and "250 2.0.0 Ok: queued as ID"
 * only after cleanup reports the queue file durable.
 */
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { CleanupClient } from '../global/cleanup-clnt.js';
import { rfc5322Date } from '../global/mail-date.js';
import { statfsSync, type StatsFs } from 'node:fs';
import type { Params } from '../global/params/param-registry.js';
import { msg } from '../util/msg.js';
import { LineEndingNormalizer } from '../util/line-endings.js';
import type { SmtpdChecks } from './smtpd-checks.js';

/** An SMTP error for smtp-server's callbacks, with its own enhanced status code. */
export function smtpError(code: number, dsn: string, text: string): Error & { responseCode: number } {
  return Object.assign(new Error(`${dsn} ${text}`), { responseCode: code });
}

/**
 * MAIL FROM: refused with 452 4.3.1 while the queue file system has less
 * free space than queue_minfree or 1.5 × message_size_limit, as Postfix's
 * smtpd does, so a full disk turns into a clear temporary refusal instead of
 * a failure in the middle of DATA.
 */
export async function onMail(state: SmtpdState, address: string, session: SMTPServerSession): Promise<void> {
  const { params } = state;
  const needed = Math.max(params.queue_minfree, params.message_size_limit > 0 ? 1.5 * params.message_size_limit : 0);
  if (needed <= 0) return;
  // Synchronous: a statfs takes microseconds, a thread-pool round trip far more, on every MAIL FROM (util/file-io.ts).
  let fsStats: StatsFs;
  try {
    fsStats = statfsSync(params.queue_directory);
  } catch {
    return;
  }
  const free = fsStats.bavail * fsStats.bsize;
  if (free >= needed) return;
  msg.warn(`not enough free space in mail queue: ${free} bytes < ${params.queue_minfree > 1.5 * params.message_size_limit ? 'queue_minfree' : '1.5*message_size_limit'}`);
  msg.info(`NOQUEUE: reject: MAIL from ${state.client}: 452 4.3.1 Insufficient system storage; from=<${address}> proto=${protocol(session)} helo=<${helo(session)}>`);
  throw smtpError(452, '4.3.1', 'Insufficient system storage');
}

/** Per-connection state smtpd keeps beside smtp-server's session. */
export class SmtpdState {
  cleanup: CleanupClient | undefined;
  recipients: string[] = [];
  readonly counts = new Map<string, number>();

  constructor(
    readonly params: Params,
    readonly checks: SmtpdChecks,
    readonly clientName: string,
    readonly clientAddress: string,
  ) {}

  /** "name[address]" as Postfix logs a client. */
  get client(): string {
    return `${this.clientName}[${this.clientAddress}]`;
  }

  count(command: string): void {
    this.counts.set(command, (this.counts.get(command) ?? 0) + 1);
  }

  /** The "ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5" summary. */
  summary(): string {
    const order = ['helo', 'ehlo', 'starttls', 'auth', 'mail', 'rcpt', 'data', 'rset', 'quit'];
    const parts: string[] = [];
    let total = 0;
    for (const name of order) {
      const n = this.counts.get(name);
      if (n === undefined) continue;
      parts.push(`${name}=${n}`);
      total += n;
    }
    return `${parts.join(' ')}${parts.length > 0 ? ' ' : ''}commands=${total}`;
  }

  /** Forgets the current transaction (RSET, end of DATA, a failure). */
  reset(): void {
    this.cleanup?.abort();
    this.cleanup = undefined;
    this.recipients = [];
  }
}

function helo(session: SMTPServerSession): string {
  return session.hostNameAppearsAs ?? '';
}

function protocol(session: SMTPServerSession): string {
  const base = session.openingCommand === 'HELO' ? 'SMTP' : 'ESMTP';
  if (base === 'SMTP') return base;
  return `ESMTP${session.secure ? 'S' : ''}${session.user !== undefined ? 'A' : ''}`;
}

/** RCPT TO: checks, then the recipient goes to cleanup (opened for the first one). */
export async function onRcpt(state: SmtpdState, address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
  state.count('rcpt');
  const recipient = address.address;
  const limit = state.params.smtpd_recipient_limit;
  if (limit > 0 && state.recipients.length >= limit) throw smtpError(452, '4.5.3', 'Error: too many recipients');
  const sender = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
  const reject = await state.checks.recipient({ clientAddress: state.clientAddress, authenticated: session.user !== undefined, recipient });
  if (reject !== undefined) {
    msg.info(`NOQUEUE: reject: RCPT from ${state.client}: ${reject.code} ${reject.dsn} ${reject.text}; from=<${sender}> to=<${recipient}> proto=${protocol(session)} helo=<${helo(session)}>`);
    throw smtpError(reject.code, reject.dsn, reject.text);
  }
  const { params } = state;
  if (state.cleanup === undefined) {
    const attrs: Record<string, string> = {
      client_name: state.clientName,
      client_address: state.clientAddress,
      helo_name: helo(session),
      protocol_name: protocol(session),
    };
    const args = session.envelope.mailFrom === false ? {} : (session.envelope.mailFrom.args as Record<string, string> | false) || {};
    if (typeof args.ENVID === 'string') attrs.envid = args.ENVID;
    if (typeof args.RET === 'string') attrs.ret = args.RET.toUpperCase();
    if (typeof args.BODY === 'string') attrs.body = args.BODY.toUpperCase();
    const opened = await CleanupClient.begin(
      params,
      { op: 'begin', sender, arrival: Date.now(), attrs, local: false },
    ).catch((err: unknown) => {
      msg.warn(`connect to cleanup service: ${(err as Error).message}`);
      return undefined;
    });
    if (opened === undefined || !(opened instanceof CleanupClient)) {
      throw smtpError(451, '4.3.0', 'Error: queue file write error');
    }
    state.cleanup = opened;
    msg.info(`${opened.id}: client=${state.client}`);
  }
  const rcptArgs = (address.args as Record<string, string> | false) || {};
  await state.cleanup.recipient({
    address: state.checks.resolver.rewrite(recipient),
    original: recipient,
    notify: typeof rcptArgs.NOTIFY === 'string' ? rcptArgs.NOTIFY.toUpperCase() : '',
    orcpt: typeof rcptArgs.ORCPT === 'string' ? rcptArgs.ORCPT : '',
  });
  state.recipients.push(recipient);
}

/** DATA: the Received: header, then the message, to cleanup; the reply once the file is durable. */
export async function onData(state: SmtpdState, stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
  state.count('data');
  const cleanup = state.cleanup;
  if (cleanup === undefined) throw smtpError(554, '5.5.1', 'Error: no valid recipients');
  const refused = await state.checks.data({ clientAddress: state.clientAddress, authenticated: session.user !== undefined });
  if (refused !== undefined) {
    msg.info(`${cleanup.id}: reject: DATA from ${state.client}: ${refused.code} ${refused.dsn} ${refused.text}; proto=${protocol(session)} helo=<${helo(session)}>`);
    state.reset();
    throw smtpError(refused.code, refused.dsn, refused.text);
  }
  const { params } = state;
  const forClause = state.recipients.length === 1 ? `\n\tfor <${state.recipients[0] as string}>` : '';
  const received = `Received: from ${helo(session)} (${state.clientName} [${state.clientAddress}])\n\tby ${params.myhostname} (${params.mail_name}) with ${protocol(session)} id ${cleanup.id}${forClause};\n\t${rfc5322Date(new Date())}\n`;
  await cleanup.content(Buffer.from(received, 'utf8'));
  const normalizer = new LineEndingNormalizer();
  for await (const chunk of stream as Readable) await cleanup.content(normalizer.write(chunk as Buffer));
  const rest = normalizer.end();
  if (rest.length > 0) await cleanup.content(rest);
  if (stream.sizeExceeded) {
    state.reset();
    throw smtpError(552, '5.3.4', 'Error: message file too big');
  }
  state.cleanup = undefined;
  const reply = await cleanup.finish();
  state.recipients = [];
  if (reply.status === 'ok') return `2.0.0 Ok: queued as ${reply.id}`;
  const code = reply.status === 'reject' ? (reply.dsn.startsWith('5.3.4') ? 552 : 550) : 451;
  throw smtpError(code, reply.dsn, reply.text);
}

/** The socket's peer, for logging before smtp-server's session exists. */
export function peerAddress(socket: Socket): string {
  return (socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
}
