/*
 * smtpd-check-types - the shapes the restriction engine (smtpd-check.ts)
 * and its restrictions (smtpd-check-names.ts, smtpd-check-access.ts,
 * smtpd-check-dns.ts) share: what a check sees of the session and the
 * command (CheckRequest), what a restriction answers (Verdict), the reply it
 * makes, and the message actions (DISCARD, HOLD, REDIRECT, FILTER, PREPEND,
 * BCC) an access table can ask for. Follows Postfix's smtpd_check(3).
 */
import type { DnsAnswer } from './smtpd-check-dns.js';

/** An SMTP reply to a rejected command. */
export interface CheckReply {
  readonly code: number;
  readonly dsn: string;
  readonly text: string;
}

/** The restriction lists, by the stage that evaluates them. */
export type Stage = 'client' | 'helo' | 'sender' | 'relay' | 'recipient' | 'data' | 'end_of_data' | 'etrn';

/** What the message actions of access tables asked for (one set per mail transaction). */
export interface MessageActions {
  discard: boolean;
  hold: boolean;
  redirect: string | undefined;
  filter: string | undefined;
  readonly bcc: string[];
  readonly prepend: string[];
}

/** A fresh set of message actions: nothing asked. */
export function noActions(): MessageActions {
  return { discard: false, hold: false, redirect: undefined, filter: undefined, bcc: [], prepend: [] };
}

/** The DNS list answers of one session (one SMTP connection), by "TYPE name": a later command does not ask again. */
export type DnsListCache = Map<string, Promise<DnsAnswer<string[]>>>;
/** The session's TLS as a policy server is told it. */
export interface PolicyTls {
  readonly protocol: string;
  readonly cipher: string;
  readonly bits: number;
  /** True when the client certificate verified against smtpd_tls_CAfile / _CApath. */
  readonly verified: boolean;
  readonly subject: string | undefined;
  readonly issuer: string | undefined;
  readonly fingerprint: string | undefined;
  readonly pubkeyFingerprint: string | undefined;
}

/** What only the policy delegation protocol sends of the session (smtpd-check-policy.ts). */
export interface PolicyFacts {
  readonly clientPort: number;
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly saslMethod: string | undefined;
  /** MAIL FROM's AUTH= address. */
  readonly saslSender: string | undefined;
  readonly tls: PolicyTls | undefined;
  /** MAIL FROM's SIZE= value; at END-OF-MESSAGE the size received. */
  readonly size: number;
  /** The transaction's instance (Transaction.instance), "" before MAIL FROM. */
  readonly instance: string;
}

/** What a restriction sees of the session and of the command being checked. */
export interface CheckRequest {
  /** The SMTP command the check answers: CONNECT, HELO, EHLO, MAIL, RCPT, DATA, BDAT, END-OF-MESSAGE, ETRN. */
  readonly command: string;
  readonly queueId: string | undefined;
  /** The forward-confirmed client name, or "unknown". */
  readonly clientName: string;
  /** The client's reverse (PTR) name, or "unknown". */
  readonly reverseName: string;
  /** True when the reverse lookup failed only for now (a DNS timeout), not for good. */
  readonly nameTempFail: boolean;
  readonly clientAddress: string;
  readonly protocol: string;
  readonly helo: string | undefined;
  /** The SASL login, when the client authenticated. */
  readonly saslUsername: string | undefined;
  /** The TLS client certificate's fingerprint and whether it verified, when one was presented. */
  readonly clientCert: { readonly fingerprint: string; readonly verified: boolean } | undefined;
  readonly tls: boolean;
  /** The envelope sender once MAIL FROM was given. */
  readonly sender: string | undefined;
  /** The recipient being checked (RCPT), or the last accepted one (DATA). */
  readonly recipient: string | undefined;
  /** The recipients accepted so far. */
  readonly recipientCount: number;
  /** True when the client sent more input before this command's reply was due (reject_unauth_pipelining). */
  readonly pipelined: boolean;
  /** The ETRN argument. */
  readonly etrnDomain?: string;
  /** The transaction's message actions, which access tables add to. */
  readonly actions: MessageActions;
  /** The session's DNS list answers (smtpd-check-rbl.ts). */
  readonly dnsCache: DnsListCache;
  readonly policy: PolicyFacts;
}

/** What one restriction answers: permit, a reply, or no opinion (undefined). */
export type Verdict = 'permit' | CheckReply | undefined;

/** The name and class a generic restriction's reply speaks of, per list: "<name>: Class rejected: ...". */
export interface ReplySubject {
  readonly name: string;
  readonly what: string;
}
