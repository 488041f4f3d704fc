/*
 * smtp-sasl - which SASL mechanism the SMTP client logs in to a relay with
 * (smtp_sasl_auth_enable): of the mechanisms the server announces and the
 * engine speaks (CRAM-MD5, PLAIN, LOGIN, tried in that order of strength),
 * those smtp_sasl_mechanism_filter keeps and the session's security options
 * allow: smtp_sasl_security_options on a plain connection,
 * smtp_sasl_tls_security_options over TLS, and
 * smtp_sasl_tls_verified_security_options over TLS with a verified server
 * certificate. A mechanism's properties are those Cyrus SASL gives it, the
 * library Postfix's SMTP client uses: PLAIN and LOGIN send the password in
 * plain text, and all three can be attacked actively and by dictionary. So
 * Postfix's default (noplaintext, noanonymous) allows CRAM-MD5 only, and a
 * relay that offers PLAIN and LOGIN needs "noanonymous", as Postfix's
 * SASL_README shows. When none is left the delivery is deferred
 * ("no mechanism available"), never sent without the login.
 */
import { PetrelError } from '../global/errors.js';
import type { Params } from '../global/params/param-registry.js';
import { checkSecurityOptions, meetsSecurityOptions } from '../global/sasl/sasl-security.js';
import type { SaslMechanismFlag } from '../global/sasl/sasl-server.js';

/** The mechanisms the engine speaks, strongest first, with their Cyrus properties. */
const CLIENT_MECHANISMS: readonly { readonly name: string; readonly flags: ReadonlySet<SaslMechanismFlag> }[] = [
  { name: 'CRAM-MD5', flags: new Set(['active', 'dictionary']) },
  { name: 'PLAIN', flags: new Set(['plaintext', 'active', 'dictionary']) },
  { name: 'LOGIN', flags: new Set(['plaintext', 'active', 'dictionary']) },
];

/** How well the session to the server is protected when the client logs in. */
export type SessionProtection = 'none' | 'tls' | 'verified';

/** smtp_sasl_mechanism_filter: a mechanism is kept by the first item that names it ("!name" drops it); by none, dropped. */
function filterOf(items: readonly string[]): ((mechanism: string) => boolean) | undefined {
  if (items.length === 0) return undefined;
  const rules = items.map((item) => {
    const negated = item.startsWith('!');
    const pattern = (negated ? item.slice(1) : item).toUpperCase();
    if (pattern === 'STATIC:ALL') return { negated, matches: () => true };
    if (pattern.includes(':') || pattern.startsWith('/')) {
      throw new PetrelError('config', `smtp_sasl_mechanism_filter: "${item}": Petrel takes mechanism names, "!name" and static:all here, not tables or files`);
    }
    return { negated, matches: (mechanism: string) => mechanism === pattern };
  });
  return (mechanism) => {
    const rule = rules.find((r) => r.matches(mechanism));
    return rule !== undefined && !rule.negated;
  };
}

/** The SMTP client's choice of SASL mechanism, from its configuration (checked when made). */
export class SaslClientPolicy {
  private constructor(
    private readonly options: Readonly<Record<SessionProtection, readonly string[]>>,
    private readonly keep: ((mechanism: string) => boolean) | undefined,
  ) {}

  /** Reads and checks the smtp_sasl_* options; an unknown word or filter item is a configuration error. */
  static fromParams(params: Params): SaslClientPolicy {
    const options = {
      none: params.smtp_sasl_security_options,
      tls: params.smtp_sasl_tls_security_options,
      verified: params.smtp_sasl_tls_verified_security_options,
    };
    checkSecurityOptions('smtp_sasl_security_options', options.none);
    checkSecurityOptions('smtp_sasl_tls_security_options', options.tls);
    checkSecurityOptions('smtp_sasl_tls_verified_security_options', options.verified);
    return new SaslClientPolicy(options, filterOf(params.smtp_sasl_mechanism_filter));
  }

  /** The mechanism to log in with, of those offered (upper case), on a session so protected; undefined when none may be used. */
  choose(offered: readonly string[], protection: SessionProtection): string | undefined {
    const options = this.options[protection];
    return CLIENT_MECHANISMS.find((m) => offered.includes(m.name) && (this.keep?.(m.name) ?? true) && meetsSecurityOptions(m.flags, options))?.name;
  }
}
