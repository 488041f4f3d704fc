/*
 * smtp-params - the SMTP delivery agent's parameters: next-hop lookup,
 * timeouts, TLS, SASL and the wire format. Declared here, beside the
 * shared ones, because the registry in global/ may not import a daemon's
 * folder. Defaults are Postfix's (smtp(8), lmtp(8)); dns_servers is
 * Petrel's own. The lmtp_ parameters are the ones the LMTP personality of
 * the same program reads instead of their smtp_ twins.
 */
import { defineParams } from './param-types.js';

/** SMTP client parameters. */
export const SMTP_PARAMS = defineParams({
  smtp_tcp_port: { kind: 'string', default: 'smtp', doc: 'The port the SMTP client connects to when the next hop names none' },
  smtp_helo_name: { kind: 'string', default: '$myhostname', doc: 'The host name sent in EHLO/HELO' },
  smtp_connect_timeout: { kind: 'time', default: '30s', timeUnit: 's', min: 1, doc: 'The time limit on establishing a TCP connection' },
  smtp_helo_timeout: { kind: 'time', default: '300s', timeUnit: 's', min: 1, doc: 'The time limit on the server greeting' },
  smtp_data_done_timeout: {
    kind: 'time',
    default: '600s',
    timeUnit: 's',
    min: 1,
    doc: 'The time limit on any one reply after the greeting (the longest Postfix stage, the reply to the end of data)',
  },
  smtp_mx_address_limit: { kind: 'int', default: '5', min: 0, doc: 'The most addresses tried for one delivery (0: no limit)' },
  smtp_mx_session_limit: { kind: 'int', default: '2', min: 0, doc: 'The most SMTP sessions tried for one delivery (0: no limit)' },
  smtp_connection_cache_time_limit: { kind: 'time', default: '2s', timeUnit: 's', min: 0, doc: 'How long an idle SMTP connection is kept for the next delivery to the same next hop (0: none)' },
  smtp_connection_reuse_time_limit: { kind: 'time', default: '300s', timeUnit: 's', min: 1, doc: 'How long after it opened a connection may still be reused' },
  lmtp_connection_cache_time_limit: { kind: 'time', default: '2s', timeUnit: 's', min: 0, doc: 'How long an idle LMTP connection is kept for the next delivery to the same next hop (0: none)' },
  lmtp_connection_reuse_time_limit: { kind: 'time', default: '300s', timeUnit: 's', min: 1, doc: 'How long after it opened an LMTP connection may still be reused' },
  disable_mime_output_conversion: { kind: 'bool', default: 'no', doc: 'Send 8-bit content as it is to a server without 8BITMIME instead of converting it to quoted-printable' },
  mime_nesting_limit: { kind: 'int', default: '100', min: 1, doc: 'The deepest MIME nesting followed when 8-bit content is converted for a server without 8BITMIME' },
  smtp_skip_5xx_greeting: { kind: 'bool', default: 'yes', doc: 'Try the next server after a 5xx greeting instead of bouncing' },
  smtp_tls_security_level: { kind: 'string', default: '', doc: 'none, may, encrypt, verify or secure (empty: none)' },
  smtp_tls_protocols: { kind: 'list', default: '>=TLSv1.2', doc: 'TLS versions the SMTP client speaks when TLS is opportunistic (may): >=TLSv1.2, or !TLSv1, !TLSv1.1 forms' },
  smtp_tls_mandatory_protocols: { kind: 'list', default: '>=TLSv1.2', doc: 'TLS versions the SMTP client speaks when TLS is mandatory (encrypt, verify, secure)' },
  smtp_generic_maps: { kind: 'tables', default: '', doc: 'Address rewriting for mail leaving by SMTP: envelope and header addresses (generic(5))' },
  smtp_tls_policy_maps: { kind: 'tables', default: '', doc: 'TLS policy per next hop: a level, optionally protocols= (overrides smtp_tls_security_level)' },
  smtp_tls_CAfile: { kind: 'string', default: '', doc: 'A PEM file of trusted certificate authorities (with smtp_tls_CApath; both empty: the system store)' },
  smtp_tls_CApath: { kind: 'string', default: '', doc: 'A directory of PEM files of trusted certificate authorities, read at start (with smtp_tls_CAfile)' },
  smtp_tls_session_cache_database: { kind: 'string', default: '', doc: 'TLS sessions kept for resumption, shared by the smtp processes: btree:, hash: or lmdb: (empty: none)' },
  smtp_tls_session_cache_timeout: { kind: 'time', default: '3600s', timeUnit: 's', min: 0, max: 8640000, doc: 'How long a cached TLS session may be resumed (0: no caching; at least 2 minutes otherwise)' },
  smtp_line_length_limit: { kind: 'int', default: '998', min: 0, doc: 'Longer lines are broken with CRLF and a space (0: no limit)' },
  smtp_sasl_auth_enable: { kind: 'bool', default: 'no', doc: 'Authenticate to the next hop with smtp_sasl_password_maps' },
  smtp_sasl_password_maps: { kind: 'tables', default: '', doc: 'username:password by next hop ([host]:port, host or domain)' },
  smtp_sender_dependent_authentication: {
    kind: 'bool',
    default: 'no',
    doc: 'Look smtp_sasl_password_maps up by the envelope sender (then @domain) before the next hop; connections are then not reused',
  },
  smtp_sasl_security_options: { kind: 'list', default: 'noplaintext, noanonymous', doc: 'Mechanism properties the SMTP client refuses without TLS: noplaintext, noactive, nodictionary, noanonymous, mutual_auth' },
  smtp_sasl_tls_security_options: { kind: 'list', default: '$smtp_sasl_security_options', doc: 'Mechanism properties the SMTP client refuses over TLS' },
  smtp_sasl_tls_verified_security_options: { kind: 'list', default: '$smtp_sasl_tls_security_options', doc: 'Mechanism properties the SMTP client refuses over TLS with a verified server certificate' },
  smtp_sasl_mechanism_filter: { kind: 'list', default: '', doc: 'The offered mechanisms the SMTP client may use: names, !names, static:all (empty: all)' },
  smtp_bind_address: { kind: 'string', default: '', doc: 'The IPv4 address SMTP connections come from (empty: the one non-loopback IPv4 address of inet_interfaces, else any)' },
  smtp_bind_address6: { kind: 'string', default: '', doc: 'The IPv6 address SMTP connections come from (empty: the one non-loopback IPv6 address of inet_interfaces, else any)' },
  smtp_bind_address_enforce: { kind: 'bool', default: 'no', doc: 'Defer delivery when the source address cannot be bound, instead of connecting from any address' },
  lmtp_tcp_port: { kind: 'string', default: '24', doc: 'The port the LMTP client connects to when the next hop names none' },
  lmtp_bind_address: { kind: 'string', default: '', doc: 'The IPv4 address LMTP connections over TCP come from' },
  lmtp_bind_address6: { kind: 'string', default: '', doc: 'The IPv6 address LMTP connections over TCP come from' },
  lmtp_bind_address_enforce: { kind: 'bool', default: 'no', doc: 'Defer LMTP delivery when the source address cannot be bound' },
  lmtp_lhlo_name: { kind: 'string', default: '$myhostname', doc: 'The host name sent in LHLO' },
  lmtp_connect_timeout: { kind: 'time', default: '0s', timeUnit: 's', min: 0, doc: 'The time limit on establishing a connection (0: the system limit)' },
  lmtp_lhlo_timeout: { kind: 'time', default: '300s', timeUnit: 's', min: 1, doc: 'The time limit on the server greeting' },
  lmtp_data_done_timeout: { kind: 'time', default: '600s', timeUnit: 's', min: 1, doc: 'The time limit on any one reply after the greeting' },
  lmtp_tls_security_level: { kind: 'string', default: '', doc: 'none, may, encrypt, verify or secure for LMTP (empty: none)' },
  lmtp_tls_protocols: { kind: 'list', default: '>=TLSv1.2', doc: 'TLS versions the LMTP client speaks when TLS is opportunistic (may)' },
  lmtp_tls_mandatory_protocols: { kind: 'list', default: '>=TLSv1.2', doc: 'TLS versions the LMTP client speaks when TLS is mandatory' },
  lmtp_tls_CAfile: { kind: 'string', default: '', doc: 'A PEM file of trusted certificate authorities for LMTP (with lmtp_tls_CApath; both empty: the system store)' },
  lmtp_tls_CApath: { kind: 'string', default: '', doc: 'A directory of PEM files of trusted certificate authorities for LMTP, read at start' },
  lmtp_tls_session_cache_database: { kind: 'string', default: '', doc: 'TLS sessions kept for resumption, shared by the lmtp processes: btree:, hash: or lmdb: (empty: none)' },
  lmtp_tls_session_cache_timeout: { kind: 'time', default: '3600s', timeUnit: 's', min: 0, max: 8640000, doc: 'How long a cached LMTP TLS session may be resumed (0: no caching; at least 2 minutes otherwise)' },
  lmtp_line_length_limit: { kind: 'int', default: '998', min: 0, doc: 'Longer lines are broken with CRLF and a space (0: no limit)' },
  dns_servers: { kind: 'list', default: '', doc: 'Petrel: DNS servers (address or address:port) for MX and address lookups (empty: /etc/resolv.conf)' },
});
