/*
 * param-unimplemented - the one table of Postfix 3.7 parameters Petrel does
 * not implement that protect something or decide where mail goes (DESIGN §3
 * "Fail closed"). Setting one in main.cf or a master.cf -o is a start-up
 * error: running without it would leave mail less protected, or route it
 * differently, than the configuration says. Names are matched by the
 * patterns below and by an explicit list, each entry with why it is fatal.
 * A declared parameter (param-registry.ts) is implemented and never matches
 * here, so declaring one (smtpd_tls_* ...) makes it accepted at once.
 * Every other unknown name keeps Postfix's "unused parameter" warning:
 * postscreen_*, tlsproxy_* and dnsblog settings belong to services Petrel
 * does not run (a master.cf line for one starts nothing, so nothing is
 * served less protected), and milter_* tuning, queue
 * scheduler tuning, reply codes and time limits protect nothing on their
 * own. Used by config-fail-closed.ts.
 */
import { paramSpec } from './param-registry.js';

/** Why a parameter Petrel lacks may not be ignored, and the values that ask for nothing. */
export interface UnimplementedRule {
  /** Why running without it is less protected or routes differently. */
  readonly why: string;
  /** Values (besides the empty one) that ask for no protection, so ignoring them changes nothing. */
  readonly harmless?: readonly string[];
}

interface PatternRule extends UnimplementedRule {
  readonly pattern: RegExp;
}

const OFF = ['no', 'none'];

/** Name families: the list (smtpd_tls_*, smtpd_sasl_*, smtp_tls_*, *_restrictions, smtpd_*_maps, *_checks, *_milters) and LMTP's TLS. */
const UNIMPLEMENTED_PATTERNS: readonly PatternRule[] = [
  { pattern: /^smtpd_tls_/, why: 'the SMTP server would offer no TLS, or weaker TLS, than configured', harmless: OFF },
  { pattern: /^smtpd_sasl_/, why: 'the SMTP server would authenticate clients differently than configured', harmless: OFF },
  { pattern: /^(smtp|lmtp)_tls_/, why: 'the SMTP/LMTP client would use weaker TLS, or no TLS, than configured', harmless: OFF },
  { pattern: /_restrictions$/, why: 'SMTP access restrictions would not be applied' },
  { pattern: /^smtpd_.+_maps$/, why: 'an SMTP server lookup that restricts or checks clients would not be made' },
  { pattern: /_checks$/, why: 'header or body content checks would not be applied' },
  { pattern: /_milters$/, why: 'mail filters (milters) would never see the mail' },
];

/** Further parameters, each with why it is fatal (Postfix's own names: never taken for a user-defined $macro). */
export const UNIMPLEMENTED_PARAMS: Readonly<Record<string, UnimplementedRule>> = {
  milter_header_checks: { why: 'checks of headers that milters add would not be applied' },
  non_smtpd_milters: { why: 'mail filters (milters) would never see locally submitted mail' },
  smtpd_proxy_filter: { why: 'mail would bypass the configured before-queue content filter' },
  lmtp_sasl_security_options: { why: 'the LMTP client could send its password in ways the configuration forbids' },
  lmtp_sasl_tls_security_options: { why: 'the LMTP client could send its password in ways the configuration forbids' },
  lmtp_sasl_mechanism_filter: { why: 'the LMTP client could use SASL mechanisms the configuration excludes' },
  tls_ssl_options: { why: 'TLS would run without the configured OpenSSL options' },
  smtpd_forbidden_commands: { why: 'the configured forbidden commands would not disconnect clients' },
  permit_mx_backup_networks: { why: 'permit_mx_backup would not be limited to the configured networks' },
  master_service_disable: { why: 'services the configuration disables would run' },
  local_login_sender_maps: { why: 'local users could submit mail with any sender address', harmless: ['static:*'] },
  message_reject_characters: { why: 'messages with the configured characters would be accepted' },
  message_strip_characters: { why: 'the configured characters would stay in messages' },
  strict_mailbox_ownership: { why: 'mailbox files owned by another user would not be handled as configured', harmless: ['no'] },
  relocated_maps: { why: 'mail for moved users would be delivered or bounced instead of refused with their new address' },
  mailbox_command_maps: { why: 'local mailbox delivery would not use the configured per-user commands' },
  address_verify_sender_dependent_relayhost_maps: { why: 'address verification probes would leave through another relay than configured for their sender' },
  address_verify_sender_dependent_default_transport_maps: { why: 'address verification probes would leave through another transport than configured for their sender' },
  best_mx_transport: { why: 'mail for which this host is the best MX would not be delivered as configured' },
  smtp_fallback_relay: { why: 'undeliverable mail would not go to the configured fallback relay' },
  lmtp_fallback_relay: { why: 'undeliverable LMTP mail would not go to the configured fallback relay' },
  smtp_host_lookup: { why: 'next hops would be looked up differently than configured', harmless: ['dns'] },
  smtp_dns_support_level: { why: 'DNS (DNSSEC for DANE) would be used differently than configured', harmless: ['enabled'] },
  disable_dns_lookups: { why: 'next hops would be looked up differently than configured', harmless: ['no'] },
  lmtp_generic_maps: { why: 'addresses leaving by LMTP would not be rewritten as configured' },
  sender_canonical_classes: { why: 'sender_canonical_maps would rewrite other addresses than configured' },
  recipient_canonical_classes: { why: 'recipient_canonical_maps would rewrite other addresses than configured' },
  resolve_dequoted_address: { why: 'quoted addresses ("user@a"@b) would be routed differently than configured' },
  resolve_numeric_domain: { why: 'user@ipaddress would be routed differently than configured' },
  resolve_null_domain: { why: 'addresses without a domain would be routed differently than configured' },
};

/** The prefixes of Postfix's own parameters: such a name is never a user-defined $macro. */
const POSTFIX_PREFIX = /^(smtpd|smtp|lmtp)_/;

/** True for a list item that names a lookup table (type:name), as the address resolver tells them apart. */
export function isTableItem(item: string): boolean {
  return /^[a-z0-9]+:/i.test(item) && !item.startsWith('[');
}

/**
 * The rule that makes setting name to value an error, or undefined when it
 * is implemented, harmless or unknown. referenced: name is used as $name
 * elsewhere in main.cf or master.cf, which makes a pattern match that is not
 * a Postfix prefix a user-defined macro ($mua_client_restrictions).
 */
export function unimplementedRule(name: string, value: string, referenced: boolean): UnimplementedRule | undefined {
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (paramSpec(name) !== undefined) return undefined;
  const rule =
    UNIMPLEMENTED_PARAMS[name] ??
    (referenced && !POSTFIX_PREFIX.test(name) ? undefined : UNIMPLEMENTED_PATTERNS.find((entry) => entry.pattern.test(name)));
  if (rule === undefined || rule.harmless?.includes(trimmed.toLowerCase()) === true) return undefined;
  return rule;
}
