/*
 * smtp-nodemailer - the one place where Petrel reaches inside nodemailer's
 * SMTP connection (the protocol engine of smtp-session.ts) for what its
 * public API does not give: RCPT TO parameters per recipient (RFC 3461
 * gives each recipient its own NOTIFY and ORCPT; nodemailer sends one set
 * for the whole envelope), each LMTP reply after the data (it keeps only
 * the last), the server's EHLO extensions and SASL mechanisms (and whether
 * it announced AUTH at all), an envelope without DATA (an
 * address verification probe stops after RCPT TO), and the TLS socket STARTTLS
 * makes, as soon as it exists, so its TLS sessions can be cached
 * (smtp-tls-cache.ts). Each hook checks that the member it patches is
 * there and throws at once when a nodemailer upgrade removed it; the test
 * of this module checks all of them against the installed version.
 */
import { TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

/** The internal members of SMTPConnection that the hooks below use. */
export const HOOKED_MEMBERS = ['_sendRcpt', '_getDsnRcptToArgs', '_actionLMTPStream', '_upgradeConnection', '_sendCommand'] as const;

type Internals = Record<(typeof HOOKED_MEMBERS)[number], (...args: unknown[]) => unknown> & { _supportedExtensions?: string[]; _supportedAuth?: string[]; _ehloLines?: unknown; _responseActions?: unknown };

/** The hooked members missing from this nodemailer version (empty when every hook can work). */
export function missingMembers(): string[] {
  const proto = SMTPConnection.prototype as unknown as Record<string, unknown>;
  return HOOKED_MEMBERS.filter((name) => typeof proto[name] !== 'function');
}

function internals(connection: SMTPConnection, member: (typeof HOOKED_MEMBERS)[number]): Internals {
  const hooked = connection as unknown as Internals;
  if (typeof hooked[member] !== 'function') throw new Error(`this nodemailer version has no SMTPConnection.${member}: Petrel's hook into it cannot work`);
  return hooked;
}

/** Sends rcptParams(recipient) (" NOTIFY=... ORCPT=...", or "") with each RCPT TO instead of the envelope-wide DSN arguments. */
export function hookRcptParams(connection: SMTPConnection, rcptParams: (recipient: string) => string): void {
  internals(connection, '_getDsnRcptToArgs');
  const hooked = internals(connection, '_sendRcpt');
  const sendRcpt = hooked._sendRcpt;
  let current = '';
  hooked._sendRcpt = function (this: unknown, recipient: unknown, callback: unknown) {
    current = recipient as string;
    return sendRcpt.call(this, recipient, callback);
  };
  hooked._getDsnRcptToArgs = () => rcptParams(current);
}

/** Calls onReply(recipient, reply) for each per-recipient reply of an LMTP server after the data. */
export function hookLmtpReplies(connection: SMTPConnection, onReply: (recipient: string, reply: string) => void): void {
  const hooked = internals(connection, '_actionLMTPStream');
  const original = hooked._actionLMTPStream;
  hooked._actionLMTPStream = function (this: unknown, recipient: unknown, final: unknown, reply: unknown, callback: unknown) {
    onReply(recipient as string, reply as string);
    return original.call(this, recipient, final, reply, callback);
  };
}

/** Calls onSocket with the TLS socket STARTTLS creates, before its handshake can deliver any event. */
export function hookTlsSocket(connection: SMTPConnection, onSocket: (socket: TLSSocket) => void): void {
  const hooked = internals(connection, '_upgradeConnection');
  const original = hooked._upgradeConnection;
  hooked._upgradeConnection = function (this: SMTPConnection, callback: unknown) {
    const result = original.call(this, callback);
    // tls.connect() has replaced the plain socket synchronously; its events come on later turns.
    if (this._socket instanceof TLSSocket) onSocket(this._socket);
    return result;
  };
}

/** The server's EHLO extensions (nodemailer keeps them on the connection). */
export function serverExtensions(connection: SMTPConnection): readonly string[] {
  return (connection as unknown as Internals)._supportedExtensions ?? [];
}

/** The SASL mechanisms the server announced that nodemailer can run (upper case; nodemailer keeps them on the connection). */
export function serverAuthMechanisms(connection: SMTPConnection): readonly string[] {
  return (connection as unknown as Internals)._supportedAuth ?? [];
}

/**
 * True when the server's EHLO reply announced AUTH. nodemailer's own
 * allowsAuth is also true after a HELO, where no AUTH was announced: a
 * server that announces none gets the mail without a login, as Postfix
 * sends it.
 */
export function serverAnnouncesAuth(connection: SMTPConnection): boolean {
  return announces(connection, /^AUTH[\s=]/i);
}

/** True when the server's EHLO reply offered STARTTLS (nodemailer does not note it where TLS is off). */
export function serverOffersStartTls(connection: SMTPConnection): boolean {
  return announces(connection, /^STARTTLS$/i);
}

function announces(connection: SMTPConnection, keyword: RegExp): boolean {
  const lines = (connection as unknown as Internals)._ehloLines;
  return Array.isArray(lines) && lines.some((line) => keyword.test(String(line).trim()));
}

/** The server's replies to an envelope sent without DATA. */
export interface EnvelopeReplies {
  readonly mail: string;
  /** One reply per recipient, in order; fewer when MAIL FROM was refused. */
  readonly rcpt: readonly string[];
}

/**
 * Sends MAIL FROM and a RCPT TO per recipient, each after the reply to the
 * one before, and calls done with the replies: no DATA follows (an address
 * verification probe). The connection's error event reports a failure.
 */
export function sendEnvelopeOnly(connection: SMTPConnection, sender: string, recipients: readonly string[], done: (replies: EnvelopeReplies) => void): void {
  const hooked = internals(connection, '_sendCommand');
  const actions = hooked._responseActions;
  if (!Array.isArray(actions)) throw new Error("this nodemailer version has no SMTPConnection._responseActions: Petrel's hook into it cannot work");
  const rcpt: string[] = [];
  let mail = '';
  const next = (): void => {
    const address = recipients[rcpt.length];
    if (address === undefined) {
      done({ mail, rcpt });
      return;
    }
    actions.push((reply: string) => {
      rcpt.push(reply);
      next();
    });
    hooked._sendCommand.call(connection, `RCPT TO:<${address}>`);
  };
  actions.push((reply: string) => {
    mail = reply;
    if (reply.startsWith('2')) next();
    else done({ mail, rcpt });
  });
  hooked._sendCommand.call(connection, `MAIL FROM:<${sender}>`);
}
