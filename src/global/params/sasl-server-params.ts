/*
 * sasl-server-params - the SMTP server's SASL (AUTH) parameters, as in
 * Postfix's SASL_README and postconf(5) smtpd_sasl_*: which
 * implementation answers (dovecot, cyrus or Petrel's own table of password
 * hashes), where it is, which mechanisms may be offered, how the sender
 * is tied to the login, and what the log and headers show. Read by
 * global/sasl/sasl-open.ts and smtpd.
 */
import { defineParams } from './param-types.js';

/** SMTP server SASL parameters. */
export const SASL_SERVER_PARAMS = defineParams({
  smtpd_sasl_auth_enable: { kind: 'bool', default: 'no', doc: 'Offer AUTH and accept SASL authentication' },
  smtpd_sasl_type: { kind: 'string', default: 'cyrus', doc: 'dovecot (its auth socket), cyrus (saslauthd through smtpd.conf) or petrel (password hashes in the table smtpd_sasl_path names)' },
  smtpd_sasl_path: { kind: 'string', default: 'smtpd', doc: 'dovecot: the auth socket (relative to queue_directory) or inet:host:port; cyrus: the application name (smtpd.conf); petrel: the table' },
  smtpd_sasl_service: { kind: 'string', default: 'smtp', doc: 'The service name passed to the SASL implementation' },
  cyrus_sasl_config_path: { kind: 'string', default: '', doc: 'Where the cyrus type looks for $smtpd_sasl_path.conf (colon-separated; empty: /etc/postfix/sasl:/usr/lib/sasl2:/etc/sasl2)' },
  smtpd_sasl_local_domain: { kind: 'string', default: '', doc: 'The realm of the cyrus type: appended to user names without one (dovecot and petrel, as Dovecot in Postfix, take names as given)' },
  smtpd_sasl_security_options: { kind: 'list', default: 'noanonymous', doc: 'Mechanism properties refused without TLS: noplaintext, noactive, nodictionary, noanonymous, forward_secrecy, mutual_auth' },
  smtpd_sasl_tls_security_options: { kind: 'list', default: '$smtpd_sasl_security_options', doc: 'Mechanism properties refused over TLS' },
  smtpd_sasl_authenticated_header: { kind: 'bool', default: 'no', doc: 'Name the SASL login in the Received: header' },
  broken_sasl_auth_clients: { kind: 'bool', default: 'no', doc: 'Also announce "AUTH=mechanisms" for clients of the draft standard (old Outlook)' },
  smtpd_sasl_exceptions_networks: { kind: 'list', default: '', doc: 'Clients to which AUTH is not offered' },
  smtpd_sasl_response_limit: { kind: 'int', default: '12288', min: 1, doc: 'The longest SASL response a client may send' },
  smtpd_sender_login_maps: { kind: 'tables', default: '', doc: 'Which SASL logins own which sender addresses (reject_*_sender_login_mismatch)' },
});
