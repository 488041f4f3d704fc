/*
 * sasl-server - the interface between smtpd's AUTH command and a SASL
 * implementation (smtpd_sasl_type): dovecot (Dovecot's auth-client protocol),
 * cyrus (saslauthd through Cyrus' smtpd.conf) and petrel (users and password
 * hashes in a lookup table). smtpd speaks SMTP (334 challenges, base64,
 * 235/535 replies); an implementation sees raw, decoded octets only.
 * Follows Postfix's xsasl(3) split between the SMTP side and the plug-in.
 */

/** Properties of a mechanism that smtpd_sasl_security_options filter on (Dovecot's MECH flags). */
export type SaslMechanismFlag = 'plaintext' | 'anonymous' | 'dictionary' | 'active' | 'forward-secrecy' | 'mutual-auth';

/** A mechanism the implementation offers. */
export interface SaslMechanism {
  /** Upper case, as announced after "250-AUTH". */
  readonly name: string;
  readonly flags: ReadonlySet<SaslMechanismFlag>;
}

/** What the implementation may want to know of the client (Dovecot passes these on to its passdb). */
export interface SaslClientInfo {
  readonly service: string;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** True when the session runs over TLS. */
  readonly secured: boolean;
  /** True when the client presented a certificate that verified. */
  readonly validClientCert: boolean;
}

/** One step of an exchange: send a challenge, or the end. */
export type SaslStep =
  /** Send "334 " + base64(challenge) and pass the client's decoded answer to step(). */
  | { readonly kind: 'challenge'; readonly challenge: Buffer }
  /** Authenticated: username is the name smtpd logs (sasl_username=) and checks sender logins against. */
  | { readonly kind: 'success'; readonly username: string }
  /**
   * Refused. reason is for the log only ("authentication failed", "Invalid
   * base64 data in continued response"); temporary asks for 454 4.7.0
   * instead of 535 5.7.8 (the back end could not decide).
   */
  | { readonly kind: 'failure'; readonly reason: string; readonly temporary: boolean };

/** One AUTH exchange in progress. */
export interface SaslExchange {
  /**
   * The client's next response, decoded. The first call passes the initial
   * response of "AUTH MECH initial" (an empty Buffer for "="), or undefined
   * when the command had none.
   */
  step(response: Buffer | undefined): Promise<SaslStep>;
  /** The client cancelled ("*") or went away: forget the exchange. */
  abort(): void;
}

/** A SASL implementation, one per smtpd process, shared by its sessions. */
export interface SaslServer {
  /** The mechanisms offered now (an implementation may learn them from its back end). Throws when the back end cannot be reached. */
  mechanisms(): Promise<readonly SaslMechanism[]>;
  /** Starts an exchange with one of the offered mechanisms (case-insensitive name). Throws when the back end cannot be reached. */
  start(mechanism: string, client: SaslClientInfo): Promise<SaslExchange>;
  /** Releases connections to the back end (the process is exiting). */
  close(): Promise<void>;
}

/** The smtpd_sasl_type values Petrel implements (postconf -a lists them). */
export const SASL_SERVER_TYPES = ['cyrus', 'dovecot', 'petrel'] as const;

/** One of SASL_SERVER_TYPES. */
export type SaslServerType = (typeof SASL_SERVER_TYPES)[number];
