import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INSTALLER_PARAMS } from '../../../src/global/params/installer-params.js';
import { paramSpec } from '../../../src/global/params/param-registry.js';
import { UNIMPLEMENTED_PARAMS, unimplementedRule } from '../../../src/global/params/param-unimplemented.js';

const FATAL: readonly (readonly [string, string])[] = [
  ['smtpd_milters', 'inet:127.0.0.1:8891'],
  ['non_smtpd_milters', '$smtpd_milters'],
  ['milter_header_checks', 'regexp:/etc/postfix/milter_header_checks'],
  ['smtp_body_checks', 'pcre:/etc/postfix/smtp_body_checks'],
  ['smtp_header_checks', 'pcre:/etc/postfix/smtp_header_checks'],
  ['smtp_tls_cert_file', '/etc/postfix/client.pem'],
  ['smtpd_tls_session_cache_database', 'btree:/var/lib/postfix/smtpd_scache'],
  ['smtpd_tls_dcert_file', '/etc/ssl/dsa.pem'],
  ['lmtp_tls_cert_file', '/etc/ssl/lmtp-client.pem'],
  ['smtpd_milters', 'inet:127.0.0.1:8891'],
  ['smtpd_forbidden_commands', 'CONNECT GET POST'],
  ['address_verify_sender_dependent_relayhost_maps', 'hash:/etc/postfix/sender_relay'],
];

const ACCEPTED: readonly (readonly [string, string, string])[] = [
  ['smtpd_milters', '', 'empty: asks for no milter'],
  ['smtpd_tls_security_level', 'none', 'asks for no TLS'],
  ['smtpd_helo_required', 'no', 'the Postfix default that asks for nothing'],
  ['smtpd_client_connection_count_limit', '10', 'declared: smtpd enforces it through anvil'],
  ['virtual_mailbox_domains', 'example.com example.net', 'plain domain names are acted on'],
  ['virtual_mailbox_domains', 'hash:/etc/postfix/vdomains', 'declared: domains in tables are acted on'],
  ['virtual_alias_domains', 'example.com, hash:/etc/postfix/virtual-domains', 'declared: domains in tables are acted on'],
  ['virtual_mailbox_maps', 'hash:/etc/postfix/vmailbox', 'declared: the virtual agent and smtpd use it'],
  ['virtual_uid_maps', 'static:5000', 'declared: the virtual agent uses it'],
  ['virtual_mailbox_base', '/var/mail/vhosts', 'declared: the virtual agent uses it'],
  ['relay_recipient_maps', 'hash:/etc/postfix/relay_recipients', 'declared: smtpd checks it'],
  ['smtpd_reject_unlisted_recipient', 'no', 'declared: smtpd honours it'],
  ['smtp_tls_security_level', 'encrypt', 'declared: implemented wins over the smtp_tls_* pattern'],
  ['smtp_tls_CApath', '/etc/ssl/certs', 'declared: implemented (Debian\'s default main.cf sets it)'],
  ['smtp_tls_session_cache_database', 'btree:${data_directory}/smtp_scache', 'declared: implemented (Debian\'s default main.cf sets it)'],
  ['smtpd_relay_restrictions', 'permit_mynetworks reject', 'declared: implemented wins over *_restrictions'],
  ['content_filter', 'amavis:[127.0.0.1]:10024', 'declared: smtpd and pickup pass it to cleanup with each message'],
  ['mailbox_transport', 'lmtp:unix:private/dovecot-lmtp', 'declared: local hands mailbox delivery to it'],
  ['soft_bounce', 'yes', 'declared: qmgr, the agents and smtpd keep mail queued'],
  ['smtp_sasl_security_options', 'noanonymous', 'declared: the SMTP client chooses its SASL mechanism by it'],
  ['postscreen_dnsbl_sites', 'zen.spamhaus.org', 'postscreen is a service Petrel does not run: unused'],
  ['milter_default_action', 'tempfail', 'only protective through the (fatal) milter lists'],
  ['foo_bar', '1', 'unknown and harmless'],
];

test('protective parameters Petrel lacks are refused; each reason is one line', () => {
  for (const [name, value] of FATAL) {
    const rule = unimplementedRule(name, value, false);
    assert.ok(rule !== undefined, `${name} = ${value} should be refused`);
    assert.ok(rule.why.length > 0 && !rule.why.includes('\n'), name);
  }
});

test('empty, "off" and declared settings, and unknown harmless names are not refused', () => {
  for (const [name, value, why] of ACCEPTED) assert.equal(unimplementedRule(name, value, false), undefined, `${name} = ${value}: ${why}`);
});

test('a user-defined $macro named like a pattern is not refused, but a Postfix-prefixed name is', () => {
  assert.equal(unimplementedRule('mua_client_restrictions', 'permit_sasl_authenticated, reject', true), undefined);
  assert.ok(unimplementedRule('mua_client_restrictions', 'permit_sasl_authenticated, reject', false) !== undefined);
  assert.ok(unimplementedRule('smtpd_milters', 'inet:127.0.0.1:8891', true) !== undefined);
  assert.ok(unimplementedRule('smtp_header_checks', 'regexp:/x', true) !== undefined);
});

test('installer parameters are declared, so a Debian main.cf loads them silently', () => {
  for (const name of ['biff', 'data_directory', 'readme_directory', 'html_directory', 'command_directory', 'setgid_group', 'sendmail_path', 'mailq_path', 'newaliases_path', 'shlib_directory', 'meta_directory']) {
    assert.ok(paramSpec(name) !== undefined, name);
    assert.equal(unimplementedRule(name, 'x', false), undefined, name);
  }
  for (const [name, spec] of Object.entries(INSTALLER_PARAMS)) assert.ok(spec.doc.length > 0, name);
});

test('the table stays true: explicit entries are not declared', () => {
  for (const name of Object.keys(UNIMPLEMENTED_PARAMS)) assert.equal(paramSpec(name), undefined, `${name} is declared now: remove it from UNIMPLEMENTED_PARAMS`);
});
