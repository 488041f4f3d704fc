/*
 * smtp-session - SMTP sessions with one server address (SmtpLink), with
 * nodemailer's SMTP connection as the protocol engine: EHLO with
 * smtp_helo_name, STARTTLS per the TLS security level (offering a cached
 * session to resume, smtp-tls-cache.ts), AUTH when the next
 * hop has credentials, then MAIL FROM (SIZE, RET, ENVID), a RCPT TO per
 * recipient (NOTIFY, ORCPT), and the content from the queue file with CRLF
 * line endings, dot-stuffing and lines over smtp_line_length_limit broken,
 * 8-bit parts converted for a server without 8BITMIME (smtp-mime-downgrade.ts).
 * An address verification probe stops after the RCPT TO replies and the
 * connection then ends with QUIT: nothing is sent.
 * The outcome says, per recipient, what the server answered, or why the
 * session failed as a whole and whether the next server should be tried.
 * A link stays open for further transactions while its owner keeps it.
 * Follows smtp(8); the texts are Postfix's ("host X[A] said: ... (in reply
 * to RCPT TO command)", "connect to X[A]:25: Connection refused").
 */
import { once } from 'node:events';
import { connect, Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { SecureContext, TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { encodeXtext } from '../global/xtext.js';
import { msg } from '../util/msg.js';
import { downgradeTo7bit } from './smtp-mime-downgrade.js';
import type { Target } from './smtp-nexthop.js';
import { hookLmtpReplies, hookRcptParams, hookTlsSocket, sendEnvelopeOnly, serverAnnouncesAuth, serverAuthMechanisms, serverExtensions, serverOffersStartTls, type EnvelopeReplies } from './smtp-nodemailer.js';
import type { SessionProtection } from './smtp-sasl.js';
import { keepSessions, type SessionSlot } from './smtp-tls-cache.js';
import type { TlsLevel } from './smtp-tls-policy.js';
import { trustOf, type TlsTrust } from './smtp-tls-trust.js';

/** How TLS is used on this session. */
export interface TlsPolicy {
  readonly level: TlsLevel;
  /** TLS from the first byte (smtp_tls_wrappermode), not STARTTLS. */
  readonly wrapper?: boolean;
  /** The TLS context: the trusted authorities, the protocol versions and the cipher list (smtp-tls-trust.ts). */
  readonly context: SecureContext;
  /** The name the certificate must carry (verify: the MX host; secure: the next-hop domain). */
  readonly servername?: string;
  /** Where a session to resume is found and a new one is kept (smtp-tls-cache.ts). */
  readonly sessions?: SessionSlot;
}

/** How to reach one server. */
export interface LinkRequest {
  readonly target: Target;
  /** LMTP: LHLO, and a reply per recipient after the data. */
  readonly lmtp: boolean;
  readonly heloName: string;
  /** The address to connect from (smtp-bind.ts); undefined: any. */
  readonly localAddress?: string;
  readonly timeouts: { readonly connect: number; readonly greeting: number; readonly reply: number };
  readonly tls: TlsPolicy;
  /** Log in before the first transaction: with these credentials, by the mechanism choose() picks (none: defer). */
  readonly credentials?: { readonly user: string; readonly pass: string; readonly choose: (offered: readonly string[], protection: SessionProtection) => string | undefined };
}

/** One mail transaction. */
export interface Transaction {
  readonly sender: string;
  readonly recipients: readonly { readonly address: string; readonly notify: string; readonly orcpt: string }[];
  readonly ret?: string;
  readonly envid?: string;
  readonly size: number;
  /** The client declared BODY=8BITMIME: passed on where the server has 8BITMIME. */
  readonly eightBit: boolean;
  /** For a server without 8BITMIME, 8-bit parts are converted to quoted-printable following MIME this deep; undefined: sent as they are. */
  readonly downgradeNesting: number | undefined;
  readonly lineLengthLimit: number;
  /** The message content (LF line endings). */
  readonly content: () => Readable;
  /** An address verification probe: the envelope only, no DATA. */
  readonly probe: boolean;
}

/** A server's answer for one recipient. */
export interface RecipientOutcome {
  readonly status: 'sent' | 'deferred' | 'bounced';
  readonly dsn: string;
  readonly reason: string;
  /** Sent, and the server announced DSN and got the recipient's NOTIFY: success reports are its job now. */
  readonly notifyPassed?: boolean;
}

/** The end of a session. */
export type SessionOutcome =
  | { readonly kind: 'replied'; readonly relay: string; readonly connectedAt: number; readonly tls: string; readonly recipients: readonly RecipientOutcome[] }
  | {
      readonly kind: 'failed';
      readonly relay: string;
      readonly dsn: string;
      readonly reason: string;
      readonly tryNext: boolean;
      /** The connection failed because its source address (localAddress) cannot be bound on this host. */
      readonly unbindable?: boolean;
    };

interface SmtpError extends Error {
  code?: string;
  /** The system error code (EADDRNOTAVAIL ...) nodemailer kept when it set code to its own. */
  originalCode?: string;
  response?: string;
  responseCode?: number;
  command?: string;
  rejectedErrors?: SmtpError[];
  recipient?: string;
}

/** The enhanced status code in a reply, or the generic one for its class (2.0.0, 4.0.0, 5.0.0). */
export function replyDsn(reply: string, code: number): string {
  const cls = String(code)[0] as string;
  const match = /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\b/.exec(reply);
  if (match !== null && match[1]?.[0] === cls) return match[1];
  return `${cls}.0.0`;
}

function said(relay: string, reply: string, command: string): string {
  return `host ${relay} said: ${reply.replace(/\r?\n/g, ' ').trim()} (in reply to ${command} command)`;
}

/** Breaks lines longer than limit with LF and a space (the wire turns it into CRLF SP). */
async function* breakLongLines(source: AsyncIterable<Buffer>, limit: number): AsyncGenerator<Buffer> {
  let column = 0;
  for await (const chunk of source) {
    if (limit <= 0) {
      yield chunk;
      continue;
    }
    const parts: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === 10) {
        column = 0;
      } else if (++column > limit) {
        parts.push(chunk.subarray(start, i), Buffer.from('\n '));
        start = i;
        column = 2;
      }
    }
    parts.push(chunk.subarray(start));
    yield parts.length === 1 ? chunk : Buffer.concat(parts);
  }
}

function connectFailure(where: string, err: SmtpError): string {
  const detail = (err as NodeJS.ErrnoException & { originalCode?: string }).originalCode ?? err.code;
  const words: Record<string, string> = {
    ECONNREFUSED: 'Connection refused',
    ETIMEDOUT: 'Connection timed out',
    EHOSTUNREACH: 'No route to host',
    ENETUNREACH: 'Network is unreachable',
    ENOENT: 'No such file or directory',
    EACCES: 'Permission denied',
  };
  const text = detail !== undefined && words[detail] !== undefined ? words[detail] : err.message;
  return `connect to ${where}: ${text}`;
}

/** Connects to an LMTP server's UNIX-domain socket; the connection failure outcome when that fails. */
async function unixSocket(target: Target, relay: string, timeoutMs: number): Promise<Socket | Failed> {
  const socket = connect(target.path as string);
  const timer = timeoutMs > 0 ? setTimeout(() => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), timeoutMs) : undefined;
  try {
    await once(socket, 'connect');
    return socket;
  } catch (err) {
    return { kind: 'failed', relay, dsn: '4.4.1', reason: connectFailure(target.address, err as SmtpError), tryNext: true };
  } finally {
    clearTimeout(timer);
  }
}

type Failed = Extract<SessionOutcome, { kind: 'failed' }>;


/**
 * A connection to one server, open for one or more transactions (a reused
 * connection starts each with RSET). Its methods never reject.
 */
export class SmtpLink {
  /** Transactions run on this connection. */
  uses = 0;
  readonly openedAt = Date.now();
  private broken = false;
  /** A probe ran on this connection: it takes no further transaction. */
  private probed = false;
  /** The operation an error event should end, if one is running. */
  private onError: ((err: SmtpError) => void) | undefined;

  private constructor(
    private readonly connection: SMTPConnection,
    readonly relay: string,
    readonly connectedAt: number,
    /** "TLSv1.3 with cipher ..." when the session is encrypted, else "". */
    readonly tls: string,
    /** How far the server's certificate was checked (meaningful when tls is not ""). */
    readonly trust: TlsTrust,
    private readonly lmtpReplies: Map<string, string>,
  ) {
    // RFC 3461 gives each recipient its own NOTIFY and ORCPT: taken per recipient from rcptParams.
    hookRcptParams(connection, (recipient) => this.rcptParams.get(recipient) ?? '');
  }

  /** " NOTIFY=... ORCPT=..." by recipient address, for the transaction being sent. */
  private readonly rcptParams = new Map<string, string>();

  /** Connects, says EHLO/LHLO, starts TLS per policy and logs in when there are credentials. */
  static async open(req: LinkRequest): Promise<SmtpLink | Failed> {
    const { target } = req;
    const relay = `${target.hostname}[${target.address}]`;
    const verify = req.tls.level === 'verify' || req.tls.level === 'secure';
    const cached = req.tls.level === 'none' ? undefined : req.tls.sessions?.load();
    let opened: Socket | undefined;
    if (target.path !== undefined) {
      const socket = await unixSocket(target, relay, req.timeouts.connect);
      if (!(socket instanceof Socket)) return socket as Failed;
      opened = socket;
    }
    const connection = new SMTPConnection({
      lmtp: req.lmtp,
      ...(opened === undefined ? {} : { connection: opened }),
      host: target.address,
      port: target.port,
      ...(req.localAddress === undefined ? {} : { localAddress: req.localAddress }),
      ...(req.tls.wrapper === true ? { secure: true } : {}),
      name: req.heloName,
      connectionTimeout: req.timeouts.connect,
      greetingTimeout: req.timeouts.greeting,
      socketTimeout: req.timeouts.reply,
      ignoreTLS: req.tls.level === 'none',
      requireTLS: req.tls.level !== 'none' && req.tls.level !== 'may',
      opportunisticTLS: req.tls.level === 'may',
      allowInternalNetworkInterfaces: true,
      tls: {
        rejectUnauthorized: verify,
        servername: req.tls.servername,
        secureContext: req.tls.context,
        ...(cached === undefined ? {} : { session: cached }),
      },
    });
    const sessions = req.tls.sessions;
    if (sessions !== undefined) hookTlsSocket(connection, (socket) => keepSessions(socket, sessions));
    // An LMTP server answers the data once per recipient; nodemailer keeps only the last answer
    // on its result, so each one is taken from its per-recipient hook as it arrives.
    const lmtpReplies = new Map<string, string>();
    if (req.lmtp) hookLmtpReplies(connection, (recipient, reply) => lmtpReplies.set(recipient, reply));
    const outcome = await new Promise<SmtpLink | Failed>((resolve) => {
      let settled = false;
      const settle = (value: SmtpLink | Failed): void => {
        if (settled) return;
        settled = true;
        if (!(value instanceof SmtpLink)) connection.close();
        resolve(value);
      };
      connection.on('error', (err: SmtpError) => setImmediate(() => settle(connectFailureOf(req, relay, err))));
      connection.connect((connectError) => {
        if (connectError) {
          settle(connectFailureOf(req, relay, connectError as SmtpError));
          return;
        }
        const socket = connection.secure ? (connection._socket as TLSSocket | false | null) : undefined;
        const tls = socket ? `${socket.getProtocol() ?? 'TLS'} with cipher ${socket.getCipher().name}` : '';
        const link = new SmtpLink(connection, relay, Date.now(), tls, socket ? trustOf(socket, verify) : 'Untrusted', lmtpReplies);
        if (req.credentials === undefined || !serverAnnouncesAuth(connection)) {
          settle(link);
          return;
        }
        const protection = protectionOf(connection, link.trust);
        const offered = serverAuthMechanisms(connection);
        const method = req.credentials.choose(offered, protection);
        if (method === undefined) {
          msg.warn(`SASL authentication failure: no mechanism available: ${relay} offers ${offered.join(' ') || 'none Petrel can use'}, the security options and mechanism filter for a ${PROTECTION_NAMES[protection]} session allow none of them`);
          settle({ kind: 'failed', relay, dsn: '4.7.0', reason: `SASL authentication failed; cannot authenticate to server ${relay}: no mechanism available`, tryNext: true });
          return;
        }
        connection.login({ user: req.credentials.user, pass: req.credentials.pass, method }, (loginError) => {
          if (loginError) {
            const e = loginError as SmtpError;
            settle({ kind: 'failed', relay, dsn: '4.7.0', reason: `SASL authentication failed; server ${relay} said: ${(e.response ?? e.message).trim()}`, tryNext: true });
            return;
          }
          settle(link);
        });
      });
    });
    connection.removeAllListeners('error');
    if (outcome instanceof SmtpLink) {
      // The command callbacks say more than the error event; it only settles what they did not.
      connection.on('error', (err: SmtpError) => {
        outcome.broken = true;
        setImmediate(() => outcome.onError?.(err));
      });
    } else {
      connection.on('error', () => undefined);
    }
    return outcome;
  }

  /** True when the server offered STARTTLS (for smtp_tls_note_starttls_offer where TLS is not used). */
  get offeredStartTls(): boolean {
    return serverOffersStartTls(this.connection);
  }

  /** The server's EHLO extensions. */
  private extensions(): readonly string[] {
    return serverExtensions(this.connection);
  }

  /** True while the connection can take another transaction. */
  get usable(): boolean {
    return !this.broken && !this.probed && !this.connection.destroyed;
  }

  /** Runs one transaction (after RSET on a reused connection). */
  async send(tx: Transaction): Promise<SessionOutcome> {
    // On a reused connection there was no set-up: delays= c counts from now.
    const connectedAt = this.uses === 0 ? this.connectedAt : Date.now();
    if (this.uses > 0) {
      const reset = await new Promise<boolean>((resolve) => this.connection.reset((err) => resolve(!err)));
      if (!reset) {
        this.broken = true;
        return { kind: 'failed', relay: this.relay, dsn: '4.4.2', reason: `lost connection with ${this.relay} while sending RSET`, tryNext: true };
      }
    }
    this.uses++;
    const relay = this.relay;
    // An address that is not ASCII can only travel to a server with SMTPUTF8.
    const international = [tx.sender, ...tx.recipients.map((r) => r.address)].some((a) => /[^\x00-\x7f]/.test(a));
    if (international && !this.extensions().includes('SMTPUTF8')) {
      const reason = `SMTPUTF8 is required, but was not offered by host ${relay}`;
      return { kind: 'replied', relay, connectedAt, tls: this.tls, recipients: tx.recipients.map(() => ({ status: 'bounced', dsn: '5.6.7', reason })) };
    }
    return new Promise<SessionOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: SessionOutcome): void => {
        if (settled) return;
        settled = true;
        this.onError = undefined;
        if (outcome.kind === 'failed') this.broken = true;
        resolve(outcome);
      };
      if (tx.probe) {
        this.onError = (err) => finish(failureOf(relay, undefined, err, 'RCPT TO'));
        this.probed = true;
        sendEnvelopeOnly(this.connection, tx.sender, tx.recipients.map((r) => r.address), (replies) => finish({ kind: 'replied', relay, connectedAt, tls: this.tls, recipients: probeOutcomes(relay, replies, tx.recipients.length) }));
        return;
      }
      this.onError = (err) => finish(failureOf(relay, undefined, err, 'end of data'));
      const dsnServer = this.extensions().includes('DSN');
      this.rcptParams.clear();
      if (dsnServer) {
        for (const r of tx.recipients) {
          const params = [...(r.notify === '' ? [] : [`NOTIFY=${r.notify}`]), ...(r.orcpt === '' ? [] : [`ORCPT=${encodeXtext(r.orcpt)}`])];
          if (params.length > 0 && !this.rcptParams.has(r.address)) this.rcptParams.set(r.address, ` ${params.join(' ')}`);
        }
      }
      const dsn = {
        ...(tx.ret === undefined ? {} : { ret: tx.ret }),
        ...(tx.envid === undefined ? {} : { envid: tx.envid }),
      };
      this.lmtpReplies.clear();
      const source = tx.downgradeNesting !== undefined && !this.extensions().includes('8BITMIME') ? downgradeTo7bit(tx.content(), tx.downgradeNesting) : tx.content();
      const content = Readable.from(breakLongLines(source, tx.lineLengthLimit));
      this.connection.send(
        { from: tx.sender === '' ? false : tx.sender, to: tx.recipients.map((r) => r.address), size: tx.size, use8BitMime: tx.eightBit, ...(Object.keys(dsn).length > 0 ? { dsn } : {}) },
        content,
        (err, info) => {
          const outcomes = new Map<string, RecipientOutcome>();
          const rejected = (err as SmtpError | null)?.rejectedErrors ?? (info?.rejectedErrors as SmtpError[] | undefined) ?? [];
          for (const r of rejected) {
            const code = r.responseCode ?? 450;
            const response = r.response ?? r.message;
            const command = r.command === 'DATA' ? 'end of DATA' : 'RCPT TO';
            outcomes.set(r.recipient ?? '', { status: code >= 500 ? 'bounced' : 'deferred', dsn: replyDsn(response, code), reason: said(relay, response, command) });
          }
          if (err && (err as SmtpError).rejectedErrors === undefined) {
            const whole = failureOf(relay, undefined, err as SmtpError, (err as SmtpError).command ?? 'DATA');
            const status = whole.dsn.startsWith('5') ? 'bounced' : 'deferred';
            // Nothing accepted yet and a temporary failure: the next server may do better.
            if (whole.tryNext && status === 'deferred' && outcomes.size === 0) {
              finish(whole);
              return;
            }
            const outcome = { status, dsn: whole.dsn, reason: whole.reason } as const;
            this.broken = true;
            finish({ kind: 'replied', relay, connectedAt, tls: this.tls, recipients: tx.recipients.map((r) => outcomes.get(r.address) ?? outcome) });
            return;
          }
          const final = info?.response ?? '250 Ok';
          const sent = (r: { readonly address: string; readonly notify: string }): RecipientOutcome => {
            const reply = (this.lmtpReplies.get(r.address) ?? final).trim();
            // A server with DSN that got this recipient's NOTIFY sends any report it asks for.
            const passed = dsnServer && r.notify !== '';
            return { status: 'sent', dsn: replyDsn(reply, 250), reason: reply, ...(passed ? { notifyPassed: true } : {}) };
          };
          finish({ kind: 'replied', relay, connectedAt, tls: this.tls, recipients: tx.recipients.map((r) => outcomes.get(r.address) ?? sent(r)) });
        },
      );
    });
  }

  /** Ends the session politely (QUIT), or at once when it is broken. */
  close(): void {
    if (!this.broken && !this.connection.destroyed) this.connection.quit();
    else this.connection.close();
  }
}

/** A recipient's outcome from the server's reply to command. */
function replyOutcome(relay: string, reply: string, command: string): RecipientOutcome {
  const code = Number(reply.slice(0, 3));
  if (code >= 200 && code < 300) return { status: 'sent', dsn: replyDsn(reply, code), reason: reply.trim() };
  return { status: code >= 500 ? 'bounced' : 'deferred', dsn: replyDsn(reply, code >= 500 ? code : 450), reason: said(relay, reply, command) };
}

/** What a probe found per recipient: the reply to its RCPT TO, or to MAIL FROM when that was refused. */
function probeOutcomes(relay: string, replies: EnvelopeReplies, count: number): RecipientOutcome[] {
  const mail = replyOutcome(relay, replies.mail, 'MAIL FROM');
  if (mail.status !== 'sent') return Array.from({ length: count }, () => mail);
  return Array.from({ length: count }, (_, i) => replyOutcome(relay, replies.rcpt[i] ?? '', 'RCPT TO'));
}

/** How the session is protected when the client logs in: which smtp_sasl_*security_options apply. */
function protectionOf(connection: SMTPConnection, trust: TlsTrust): SessionProtection {
  if (!connection.secure) return 'none';
  return trust === 'Verified' ? 'verified' : 'tls';
}

const PROTECTION_NAMES: Readonly<Record<SessionProtection, string>> = { none: 'plain', tls: 'TLS', verified: 'verified TLS' };

/** The failure outcome of an error before the session was set up; one of binding its source address says so. */
function connectFailureOf(req: LinkRequest, relay: string, err: SmtpError): Failed {
  if (req.localAddress !== undefined && (err.originalCode ?? err.code) === 'EADDRNOTAVAIL') {
    return { kind: 'failed', relay, dsn: '4.4.1', reason: `cannot connect from ${req.localAddress}: ${err.message}`, tryNext: true, unbindable: true };
  }
  return failureOf(relay, req.target, err, 'CONNECT');
}

/** The failure outcome of an error at stage (target given: a connection attempt). */
function failureOf(relay: string, target: Target | undefined, err: SmtpError, stage: string): Failed {
  if (err.code === 'ETLS' || err.command === 'STARTTLS') {
    const detail = err.responseCode === undefined ? `: ${err.message}` : '';
    return { kind: 'failed', relay, dsn: '4.7.4', reason: `TLS is required, but was not offered by host ${relay}${detail}`, tryNext: true };
  }
  if (err.responseCode !== undefined && err.response !== undefined) {
    const greeting = err.command === 'CONN';
    const permanent = err.responseCode >= 500;
    return {
      kind: 'failed',
      relay,
      dsn: replyDsn(err.response, err.responseCode),
      reason: greeting ? `host ${relay} refused to talk to me: ${err.response.trim()}` : said(relay, err.response, err.command ?? stage),
      tryNext: !permanent || greeting,
    };
  }
  if (target !== undefined) {
    const where = target.path === undefined ? `${relay}:${target.port}` : target.path;
    return { kind: 'failed', relay, dsn: '4.4.1', reason: connectFailure(where, err), tryNext: true };
  }
  return { kind: 'failed', relay, dsn: '4.4.2', reason: `lost connection with ${relay} while sending ${stage}: ${err.message}`, tryNext: true };
}
