/*
 * sasl-security - the words of Postfix's SASL security option lists
 * (smtpd_sasl_security_options, smtp_sasl_security_options and their
 * _tls_ twins) and whether a mechanism with given properties meets a list:
 * noplaintext, noactive, nodictionary and noanonymous refuse a mechanism
 * with that weakness; forward_secrecy and mutual_auth demand the
 * property. Shared by the SMTP server (smtpd-auth.ts), which filters what
 * it offers, and the SMTP client (smtp-sasl.ts), which filters what it
 * uses. Follows SASL_README.
 */
import { PetrelError } from '../errors.js';
import type { SaslMechanismFlag } from './sasl-server.js';

/** Each word and the mechanism property it refuses (or, with "require", demands). */
const SECURITY_OPTIONS: Readonly<Record<string, { flag: SaslMechanismFlag; require: boolean }>> = {
  noplaintext: { flag: 'plaintext', require: false },
  noactive: { flag: 'active', require: false },
  nodictionary: { flag: 'dictionary', require: false },
  noanonymous: { flag: 'anonymous', require: false },
  forward_secrecy: { flag: 'forward-secrecy', require: true },
  mutual_auth: { flag: 'mutual-auth', require: true },
};

/** Checks a security option list at start-up; an unknown word is a configuration error naming parameter. */
export function checkSecurityOptions(parameter: string, options: readonly string[]): void {
  for (const word of options) {
    if (SECURITY_OPTIONS[word.toLowerCase()] === undefined) throw new PetrelError('config', `${parameter}: unknown SASL security option "${word}"`);
  }
}

/** True when a mechanism with these properties meets every word of options (checked by checkSecurityOptions). */
export function meetsSecurityOptions(flags: ReadonlySet<SaslMechanismFlag>, options: readonly string[]): boolean {
  return options.every((word) => {
    const rule = SECURITY_OPTIONS[word.toLowerCase()] as { flag: SaslMechanismFlag; require: boolean };
    return rule.require ? flags.has(rule.flag) : !flags.has(rule.flag);
  });
}
