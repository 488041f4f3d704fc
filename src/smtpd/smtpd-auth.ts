/*
 * smtpd-auth - SMTP AUTH (RFC 4954) in the SMTP server over the SASL
 * implementation of smtpd_sasl_type: which mechanisms are offered (none
 * before TLS with smtpd_tls_auth_only, none to smtpd_sasl_exceptions_networks,
 * filtered by smtpd_sasl_security_options or, over TLS,
 * smtpd_sasl_tls_security_options), the 334 challenge exchange with its
 * size limit (smtpd_sasl_response_limit, which holds the initial response
 * too) and "*" cancellation, 235 / 535 5.7.8 / 454 4.7.0 replies, and
 * Postfix's "warning: host[addr]: SASL PLAIN authentication failed: ..."
 * line that fail2ban's postfix filter reads. A failed AUTH counts toward
 * smtpd_hard_error_limit like any error reply. Follows smtpd(8) and SASL_README.
 */
import type { Params } from '../global/params/param-registry.js';
import { checkSecurityOptions, meetsSecurityOptions } from '../global/sasl/sasl-security.js';
import type { SaslMechanism } from '../global/sasl/sasl-server.js';
import { msg } from '../util/msg.js';
import { commandRefused } from './smtpd-anvil.js';
import { SessionEnd, type SmtpdSession } from './smtpd-session.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Checks both security option lists at start-up; an unknown word is a configuration error. */
export function validateSaslOptions(params: Params): void {
  checkSecurityOptions('smtpd_sasl_security_options', params.smtpd_sasl_security_options);
  checkSecurityOptions('smtpd_sasl_tls_security_options', params.smtpd_sasl_tls_security_options);
}

/** The mechanisms offered to this session now (none when AUTH is off for it or its back end cannot be reached). */
export async function authOffered(s: SmtpdSession): Promise<string[]> {
  const sasl = s.services.sasl;
  const p = s.params;
  if (sasl === undefined || !p.smtpd_sasl_auth_enable || s.sasl !== undefined) return [];
  if (p.smtpd_tls_auth_only && s.tls === undefined) return [];
  if (s.services.checks.inNetworks(s.client.address, s.services.checks.saslExceptions)) return [];
  let mechanisms: readonly SaslMechanism[];
  try {
    mechanisms = await sasl.mechanisms();
  } catch (err) {
    msg.warn(`SASL: ${(err as Error).message}; AUTH not offered to ${s.peer}`);
    return [];
  }
  const options = s.tls !== undefined ? p.smtpd_sasl_tls_security_options : p.smtpd_sasl_security_options;
  return mechanisms.filter((m) => meetsSecurityOptions(m.flags, options)).map((m) => m.name);
}

function decode(text: string): Buffer | undefined {
  if (text === '=') return Buffer.alloc(0);
  return BASE64.test(text) ? Buffer.from(text, 'base64') : undefined;
}

/** Log text a fail2ban pattern can hold: letters, digits, spaces and a few signs only. */
function logSafe(reason: string): string {
  return reason.replace(/[^A-Za-z0-9 +/:]/g, ' ').replace(/ +/g, ' ').trim();
}

function failed(s: SmtpdSession, mechanism: string, reason: string): void {
  msg.warn(`${s.peer}: SASL ${mechanism} authentication failed: ${logSafe(reason)}`);
  s.reply(535, '5.7.8 Error: authentication failed: authentication failure');
}

/** AUTH mechanism [initial-response]. */
export async function handleAuth(s: SmtpdSession, arg: string): Promise<void> {
  const sasl = s.services.sasl;
  if (sasl === undefined || !s.params.smtpd_sasl_auth_enable) return s.reply(503, '5.5.1 Error: authentication not enabled');
  if (s.helo === undefined || !s.esmtp) return s.reply(503, '5.5.1 Error: send EHLO first');
  if (s.sasl !== undefined) return s.reply(503, '5.5.1 Error: already authenticated');
  if (s.transaction !== undefined) return s.reply(503, '5.5.1 Error: MAIL transaction in progress');
  const [mechanismWord, initialText, extra] = arg.trim().split(/[ \t]+/);
  if (mechanismWord === undefined || mechanismWord === '' || extra !== undefined) return s.reply(501, '5.5.4 Syntax: AUTH mechanism');
  if (await commandRefused(s, 'auth')) return;
  const mechanism = mechanismWord.toUpperCase();
  const offered = await authOffered(s);
  if (offered.length === 0) return s.reply(503, '5.5.1 Error: authentication not enabled');
  if (!offered.includes(mechanism)) return s.reply(535, '5.7.8 Error: authentication failed: Invalid authentication mechanism');
  let response: Buffer | undefined;
  if (initialText !== undefined) {
    if (initialText.length > s.params.smtpd_sasl_response_limit) return failed(s, mechanism, 'SASL response too long');
    response = decode(initialText);
    if (response === undefined) return failed(s, mechanism, 'Invalid base64 data in initial response');
  }
  let exchange;
  try {
    exchange = await sasl.start(mechanism, {
      service: s.params.smtpd_sasl_service,
      localAddress: s.client.localAddress,
      localPort: s.client.localPort,
      remoteAddress: s.client.address,
      remotePort: s.client.port,
      secured: s.tls !== undefined,
      validClientCert: s.tls?.verified === true,
    });
  } catch (err) {
    msg.warn(`${s.peer}: SASL ${mechanism}: ${(err as Error).message}`);
    return s.reply(454, '4.7.0 Temporary authentication failure');
  }
  for (;;) {
    const step = await exchange.step(response);
    if (step.kind === 'success') {
      s.sasl = { method: mechanism, username: step.username };
      return s.reply(235, '2.7.0 Authentication successful');
    }
    if (step.kind === 'failure') {
      if (!step.temporary) return failed(s, mechanism, step.reason);
      msg.warn(`${s.peer}: SASL ${mechanism} authentication failed: ${logSafe(step.reason)}`);
      return s.reply(454, '4.7.0 Temporary authentication failure');
    }
    s.reply(334, step.challenge.toString('base64'));
    const line = await s.nextLine(s.params.smtpd_sasl_response_limit);
    if (line === undefined) {
      exchange.abort();
      throw new SessionEnd('lost');
    }
    const text = line.text.toString('latin1');
    if (line.tooLong) {
      exchange.abort();
      return failed(s, mechanism, 'SASL response too long');
    }
    if (text === '*') {
      exchange.abort();
      return s.reply(501, '5.7.0 Authentication aborted');
    }
    response = decode(text);
    if (response === undefined) {
      exchange.abort();
      return failed(s, mechanism, 'Invalid base64 data in continued response');
    }
  }
}
