/*
 * sasl-cyrus - smtpd_sasl_type = cyrus, as Postfix with the Cyrus SASL
 * library and "pwcheck_method: saslauthd" behaves: PLAIN and LOGIN (those
 * mech_list allows) with every password checked by saslauthd. The
 * application file ($smtpd_sasl_path.conf along cyrus_sasl_config_path) is
 * read when the server is made, so a bad one stops smtpd at start-up.
 *
 * User names are canonicalized as Cyrus' INTERNAL canon_user plugin does, so
 * that sasl_username= and the name reject_sender_login_mismatch compares are
 * what Postfix with Cyrus has: the login without surrounding white space,
 * with "@" and smtpd_sasl_local_domain appended when that is set and the
 * login has no "@" of its own. saslauthd is asked, as the library asks it,
 * for the part before the last "@" in the realm after it (none without "@").
 * Made by smtpd for each process; follows Postfix's xsasl_cyrus_server and
 * SASL_README.
 */
import { askSaslauthd } from './saslauthd-clnt.js';
import { readCyrusAppConfig, type CyrusAppConfig } from './sasl-cyrus-conf.js';
import { startPlaintext, type PasswordChecker, type PasswordVerdict } from './sasl-plaintext.js';
import type { SaslClientInfo, SaslExchange, SaslMechanism, SaslServer } from './sasl-server.js';

/** What smtpd passes from its parameters. */
export interface CyrusSaslOptions {
  /** smtpd_sasl_path: the application file's name without ".conf". */
  readonly appName: string;
  /** cyrus_sasl_config_path: colon-separated directories; empty for the defaults. */
  readonly configPath: string;
  /** smtpd_sasl_service, passed to saslauthd (its PAM service name). */
  readonly service: string;
  /** smtpd_sasl_local_domain; may be empty. */
  readonly realm: string;
  /** The deadline of one saslauthd request. */
  readonly timeoutMs: number;
}

/** C's isspace() in the C locale, which Cyrus trims names by. */
const EDGE_SPACE = /^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g;

/** The name Cyrus' INTERNAL canon_user plugin makes of login in realm, or undefined for an all-blank login. */
export function canonicalUsername(login: string, realm: string): string | undefined {
  const name = login.replace(EDGE_SPACE, '');
  if (name === '') return undefined;
  return realm !== '' && !name.includes('@') ? `${name}@${realm}` : name;
}

const refuse = (reason: string): PasswordVerdict => ({ ok: false, reason, temporary: false });

/** The Cyrus SASL type over saslauthd. */
export class CyrusSaslServer implements SaslServer {
  private readonly config: CyrusAppConfig;
  private readonly checker: PasswordChecker = { verify: (login, password) => this.check(login, password) };

  constructor(private readonly options: CyrusSaslOptions) {
    this.config = readCyrusAppConfig(options.appName, options.configPath);
  }

  async mechanisms(): Promise<readonly SaslMechanism[]> {
    return this.config.mechanisms;
  }

  async start(mechanism: string, client: SaslClientInfo): Promise<SaslExchange> {
    const offered = this.config.mechanisms.some((m) => m.name === mechanism.toUpperCase());
    const exchange = offered ? startPlaintext(mechanism, this.checker, client) : undefined;
    if (exchange !== undefined) return exchange;
    return { step: async () => ({ kind: 'failure', reason: `mechanism ${mechanism} is not offered`, temporary: false }), abort: () => {} };
  }

  async close(): Promise<void> {}

  private async check(login: string, password: string): Promise<PasswordVerdict> {
    // saslauthd behind PAM may let an empty password in; C strings would cut at a NUL and check less than was sent.
    if (password === '') return refuse('empty password');
    if (login.includes('\0') || password.includes('\0')) return refuse('NUL in user name or password');
    const username = canonicalUsername(login, this.options.realm);
    if (username === undefined) return refuse('all-whitespace user name');
    const at = username.lastIndexOf('@');
    const answer = await askSaslauthd(
      this.config.saslauthdPath,
      {
        login: at < 0 ? username : username.slice(0, at),
        password,
        service: this.options.service,
        realm: at < 0 ? '' : username.slice(at + 1),
      },
      this.options.timeoutMs,
    );
    return answer.ok ? { ok: true, username } : answer;
  }
}
