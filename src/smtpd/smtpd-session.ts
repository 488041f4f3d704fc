/*
 * smtpd-session - one client's SMTP session: the greeting, the command
 * loop, replies (held while the client's pipelined commands are still
 * being read, then sent in one write), the error and junk-command limits
 * with their delays, the pipelining and bare-newline rules
 * (smtpd_forbid_unauth_pipelining, smtpd_forbid_bare_newline), the
 * session's TLS and SASL state, and Postfix's log lines ("connect from",
 * "lost connection after DATA from", "disconnect from ... commands=N").
 * The commands themselves are in smtpd-commands.ts. Follows smtpd(8).
 */
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Params } from '../global/params/param-registry.js';
import type { SaslServer } from '../global/sasl/sasl-server.js';
import { softBounceReply } from '../global/soft-bounce.js';
import type { ServerTls } from '../global/tls/tls-server.js';
import { decodeXtext } from '../global/xtext.js';
import type { LineEndingNormalizer } from '../util/line-endings.js';
import { msg } from '../util/msg.js';
import type { SmtpChat } from './smtpd-chat.js';
import type { AnvilReply } from '../global/anvil-clnt.js';
import type { SmtpdLimits } from './smtpd-anvil.js';
import type { SmtpdChecks } from './smtpd-check-config.js';
import { noActions, type CheckReply, type CheckRequest, type DnsListCache, type MessageActions, type PolicyFacts } from './smtpd-check-types.js';
import type { BareNewlineMode } from './smtpd-dot-decoder.js';
import { SmtpInput, type CommandLine, type InputEnd } from './smtpd-input.js';
import type { OpenQueueSink, Transaction } from './smtpd-transaction.js';
import type { Forwarded } from './smtpd-xclient.js';
import { printable } from '../util/printable.js';

/** What every session of one smtpd process shares. */
export interface SmtpdServices {
  readonly params: Params;
  readonly checks: SmtpdChecks;
  readonly tls: ServerTls | undefined;
  readonly sasl: SaslServer | undefined;
  readonly openSink: OpenQueueSink;
  /** "sendmail -bs": the client is a local user, whose recipients go where cleanup and qmgr route them, unchecked. */
  readonly local: boolean;
  /** The client limits counted by anvil; none when every limit is 0 (and for "sendmail -bs"). */
  readonly limits?: SmtpdLimits;
}

/** The client as smtpd knows it. */
export interface SmtpdClient {
  /** The forward-confirmed name, or "unknown". */
  name: string;
  /** The reverse (PTR) name even when it does not confirm, or "unknown". */
  reverseName: string;
  /** True when the name lookups failed only for now. */
  nameTempFail: boolean;
  address: string;
  port: number;
  readonly localAddress: string;
  readonly localPort: number;
}

/** The TLS state of a session once the handshake is done. */
export interface SessionTls {
  readonly protocol: string;
  readonly cipher: string;
  readonly bits: number;
  /** The peer certificate's fingerprint, when one was presented. */
  readonly fingerprint: string | undefined;
  /** The fingerprint of its public key. */
  readonly pubkeyFingerprint: string | undefined;
  readonly verified: boolean;
  readonly subject: string | undefined;
  readonly issuer: string | undefined;
}

/**
 * Thrown by a command to end the session after its reply went out. It
 * ends most sessions (QUIT) and no one reads its stack, so it takes none:
 * capturing one cost about 30 to 50 µs a session.
 */
export class SessionEnd extends Error {
  readonly reason: string;

  constructor(reason: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(reason);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.reason = reason;
  }
}

/** Commands that may only end a pipelined group (RFC 2920 3.1), checked when smtpd_forbid_unauth_pipelining is on. */
const GROUP_ENDERS = new Set(['EHLO', 'HELO', 'DATA', 'VRFY', 'EXPN', 'TURN', 'QUIT', 'NOOP', 'STARTTLS', 'AUTH', 'ETRN']);

/** One SMTP session. */
export class SmtpdSession {
  readonly params: Params;
  socket: Duplex;
  readonly input: SmtpInput;
  private replies: string[] = [];
  helo: string | undefined;
  esmtp = false;
  tls: SessionTls | undefined;
  sasl: { readonly method: string; readonly username: string } | undefined;
  transaction: Transaction | undefined;
  /** The original client XFORWARD named, for the next message. */
  forwarded: Forwarded | undefined;
  /** The line-ending state of a BDAT transaction in progress. */
  chunking: LineEndingNormalizer | undefined;
  /** The command being served, for "lost connection after X" (Postfix's state->where). */
  where = 'CONNECT';
  private errors = 0;
  private errorReplies = 0;
  private junk = 0;
  private readonly counts = new Map<string, { ok: number; total: number }>();
  bareNewline: BareNewlineMode;
  /** The connecting client's address: XCLIENT and XFORWARD rights stay with it after XCLIENT renames the client. */
  readonly connectAddress: string;
  private closed = false;
  /** The message actions access tables asked for, for the current (or next) transaction. */
  actions: MessageActions = noActions();
  /** The DNS list answers of this connection. */
  readonly dnsCache: DnsListCache = new Map();
  /** With smtpd_delay_reject = no, the client restrictions' refusal at connect: every later command is refused. */
  denied: CheckReply | undefined;
  /** True once anvil was told of this connection: it must be told when it ends. */
  anvilConnected = false;
  /** The connection counts anvil answers (undefined: not asked yet; resolves undefined when not counted). */
  anvilCounts: Promise<AnvilReply | undefined> | undefined;

  constructor(
    readonly services: SmtpdServices,
    readonly client: SmtpdClient,
    socket: Duplex,
    readonly chat: SmtpChat,
  ) {
    this.params = services.params;
    this.connectAddress = client.address;
    this.socket = socket;
    this.input = new SmtpInput(this.params.smtpd_timeout * 1000, () => this.flush());
    // In wrapper mode the first bytes are the TLS handshake's: they must reach the TLS socket, not the SMTP input.
    if (services.tls?.wrapper !== true) this.input.attach(socket);
    const mode = this.params.smtpd_forbid_bare_newline.toLowerCase();
    const excluded = services.checks.inNetworks(client.address, services.checks.bareNewlineExclusions);
    this.bareNewline = excluded || mode === 'no' ? 'no' : mode === 'reject' ? 'reject' : 'normalize';
  }

  /** "name[address]" as Postfix logs a client. */
  get peer(): string {
    return `${this.client.name}[${this.client.address}]`;
  }

  /** Queues a reply; multi-line when text is an array. Replies go out when the client must wait for them. */
  reply(code: number, text: string | readonly string[]): void {
    // With soft_bounce a 5xx goes out as 4xx (restriction replies come converted already, for their log lines).
    const { code: sent, lines } = softBounceReply(code, typeof text === 'string' ? [text] : text, this.params.soft_bounce);
    this.chat.reply(sent, lines);
    if (sent >= 400) {
      this.errors++;
      this.errorReplies++;
    }
    lines.forEach((line, i) => this.replies.push(`${sent}${i < lines.length - 1 ? '-' : ' '}${line}\r\n`));
  }

  /** Sends the queued replies now. */
  flush(): void {
    if (this.replies.length === 0 || this.closed) return;
    this.socket.write(this.replies.join(''));
    this.replies = [];
  }

  /** Error replies so far, never reset (the command loop compares before and after a command). */
  get errorCount(): number {
    return this.errorReplies;
  }

  /** Counts a command for the disconnect summary (Postfix's "rcpt=1/2"). */
  count(command: string, ok: boolean): void {
    const entry = this.counts.get(command) ?? { ok: 0, total: 0 };
    entry.total++;
    if (ok) entry.ok++;
    this.counts.set(command, entry);
  }

  /** A junk command (NOOP, VRFY, RSET, ETRN, unknown); past smtpd_junk_command_limit the session ends. */
  junkCommand(): void {
    this.junk++;
    if (this.junk > this.params.smtpd_junk_command_limit) this.tooManyErrors();
  }

  /** A message was queued: Postfix forgives earlier errors. */
  delivered(): void {
    this.errors = 0;
  }

  /** The "ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5" summary. */
  summary(): string {
    const order = ['connect', 'helo', 'ehlo', 'starttls', 'auth', 'mail', 'rcpt', 'data', 'bdat', 'rset', 'noop', 'vrfy', 'quit', 'unknown'];
    const parts: string[] = [];
    let total = 0;
    let ok = 0;
    for (const name of order) {
      const n = this.counts.get(name);
      if (n === undefined || name === 'connect') continue;
      parts.push(`${name}=${n.ok === n.total ? n.ok : `${n.ok}/${n.total}`}`);
      total += n.total;
      ok += n.ok;
    }
    return `${parts.join(' ')}${parts.length > 0 ? ' ' : ''}commands=${ok === total ? total : `${ok}/${total}`}`;
  }

  /** The protocol name in Received: and the log: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA. */
  get protocol(): string {
    if (!this.esmtp) return 'SMTP';
    return `ESMTP${this.tls !== undefined ? 'S' : ''}${this.sasl !== undefined ? 'A' : ''}`;
  }

  /** What the restriction checks see of this session for command, with the envelope so far. */
  checkRequest(command: string, recipient?: string, extra: Partial<CheckRequest> = {}): CheckRequest {
    const t = this.transaction;
    return {
      command,
      queueId: t?.id,
      clientName: this.client.name,
      reverseName: this.client.reverseName,
      nameTempFail: this.client.nameTempFail,
      clientAddress: this.client.address,
      protocol: this.protocol,
      helo: this.helo,
      saslUsername: this.sasl?.username,
      clientCert: this.tls?.fingerprint === undefined ? undefined : { fingerprint: this.tls.fingerprint, verified: this.tls.verified },
      tls: this.tls !== undefined,
      sender: t?.sender,
      recipient,
      recipientCount: t?.recipients.length ?? 0,
      pipelined: this.input.pending > 0,
      actions: this.actions,
      dnsCache: this.dnsCache,
      policy: this.policyFacts(command),
      ...extra,
    };
  }

  /** What policy servers are told besides the rest of a check request. */
  private policyFacts(command: string): PolicyFacts {
    const t = this.transaction;
    const declared = Number(t?.mailParams.get('SIZE') ?? 0);
    const auth = t?.mailParams.get('AUTH');
    return {
      clientPort: this.client.port,
      serverAddress: this.client.localAddress,
      serverPort: this.client.localPort,
      saslMethod: this.sasl?.method,
      saslSender: auth === undefined || auth === '<>' ? undefined : decodeXtext(auth),
      tls: this.tls,
      size: command === 'END-OF-MESSAGE' && t !== undefined ? t.contentSize : Number.isSafeInteger(declared) ? declared : 0,
      instance: t?.instance ?? '',
    };
  }

  /** Replaces the socket with its TLS successor; what the client sent ahead in plaintext is gone. */
  upgraded(tlsSocket: TLSSocket, state: SessionTls): void {
    this.input.discard();
    this.socket = tlsSocket;
    this.input.attach(tlsSocket);
    this.tls = state;
    this.helo = undefined;
    this.esmtp = false;
  }

  /**
   * True (after the reply and log line) when the client sent more input
   * where it had to wait for a reply: before the greeting, after a command
   * that ends a pipelined group, or at all when it did not say EHLO.
   */
  pipelinedAhead(command: string): boolean {
    if (!this.params.smtpd_forbid_unauth_pipelining || this.input.pending === 0) return false;
    if (command !== 'CONNECT' && this.esmtp && !GROUP_ENDERS.has(command)) return false;
    const ahead = printable(this.input.peek(100).toString('latin1').replace(/[\r\n]+/g, ' '));
    msg.info(`improper command pipelining after ${command} from ${this.peer}: ${ahead.trim()}`);
    this.reply(554, '5.5.0 Error: SMTP protocol synchronization');
    return true;
  }

  /** Ends the session with 421 after too many errors. */
  tooManyErrors(): never {
    msg.info(`too many errors after ${this.where} from ${this.peer}`);
    this.reply(421, `4.7.0 ${this.params.myhostname} Error: too many errors`);
    throw new SessionEnd('too many errors');
  }

  /** Reads the next command line; undefined when the session is over (the log line already written). */
  async nextLine(limit: number): Promise<CommandLine | undefined> {
    if (this.errors >= this.params.smtpd_hard_error_limit) this.tooManyErrors();
    if (this.errors > this.params.smtpd_soft_error_limit && this.params.smtpd_error_sleep_time > 0 && !this.input.hasLine()) {
      this.flush();
      await sleep(this.params.smtpd_error_sleep_time * 1000);
    }
    const line = await this.input.line(limit);
    if (typeof line === 'string') {
      this.ended(line);
      return undefined;
    }
    if (line.bareLf && this.bareNewline === 'reject') {
      this.bareLfRefused();
    }
    return line;
  }

  /** Refuses a bare LF (smtpd_forbid_bare_newline = reject) and ends the session. */
  bareLfRefused(): never {
    msg.info(`bare <LF> received after ${this.where} from ${this.peer}`);
    this.reply(this.params.smtpd_forbid_bare_newline_reject_code, `5.5.2 ${this.params.myhostname} Error: bare <LF> received`);
    throw new SessionEnd('bare LF');
  }

  /** Logs why input ended: "lost connection after X" or "timeout after X". */
  ended(why: InputEnd): void {
    if (why === 'timeout') {
      msg.info(`timeout after ${this.where} from ${this.peer}`);
      this.reply(421, `4.4.2 ${this.params.myhostname} Error: timeout exceeded`);
    } else {
      msg.info(`lost connection after ${this.where} from ${this.peer}`);
    }
  }

  /** Sends what is queued and closes the connection. */
  async close(): Promise<void> {
    this.flush();
    this.closed = true;
    this.input.detach();
    const socket = this.socket;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve();
      }, 1000);
      socket.end(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    socket.destroy();
  }
}
