/*
 * smtpd-params - the SMTP server's parameters: banner, restriction lists,
 * limits, timeouts and the protocol hardening switches. They live here,
 * beside the shared ones, because the registry in global/ may not import a
 * daemon's folder. Defaults are Postfix's (smtpd(8), postconf(5)) except
 * where Petrel names itself or takes Postfix 3.9's safer default
 * (smtpd_forbid_bare_newline, smtpd_forbid_unauth_pipelining).
 */
import { defineParams } from './param-types.js';

/** SMTP server parameters. */
export const SMTPD_PARAMS = defineParams({
  smtpd_banner: { kind: 'string', default: '$myhostname ESMTP $mail_name', doc: 'The text after 220 in the SMTP greeting' },
  smtpd_client_restrictions: { kind: 'list', default: '', doc: 'Restrictions applied to the client when it connects' },
  smtpd_helo_restrictions: { kind: 'list', default: '', doc: 'Restrictions applied to HELO/EHLO' },
  smtpd_sender_restrictions: { kind: 'list', default: '', doc: 'Restrictions applied to MAIL FROM' },
  smtpd_relay_restrictions: { kind: 'list', default: '${{$compatibility_level} <level {1} ? {} : {permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination}}', doc: 'Relay restrictions applied to RCPT TO' },
  smtpd_recipient_restrictions: { kind: 'list', default: '', doc: 'Restrictions applied to RCPT TO' },
  smtpd_data_restrictions: { kind: 'list', default: '', doc: 'Restrictions applied to DATA' },
  queue_minfree: { kind: 'size', default: '0', min: 0, doc: 'Free space the queue file system must keep for smtpd to accept MAIL FROM (and at least 1.5 × message_size_limit)' },
  smtpd_recipient_limit: { kind: 'int', default: '1000', min: 0, doc: 'The most recipients per message' },
  smtpd_reject_unlisted_recipient: { kind: 'bool', default: 'yes', doc: 'Refuse at RCPT recipients missing from the tables of their address class (local, virtual alias, virtual mailbox, relay)' },
  smtpd_timeout: { kind: 'time', default: '${stress?{10}:{300}}s', timeUnit: 's', min: 1, doc: "The time limit on a client's SMTP command or data" },
  smtpd_hard_error_limit: { kind: 'int', default: '${stress?{1}:{20}}', min: 1, doc: 'The errors a client may make before the server disconnects' },
  smtpd_soft_error_limit: { kind: 'int', default: '10', min: 0, doc: 'The errors after which each error reply is delayed by smtpd_error_sleep_time' },
  smtpd_error_sleep_time: { kind: 'time', default: '1s', timeUnit: 's', min: 0, doc: 'The delay before an error reply once smtpd_soft_error_limit is passed' },
  smtpd_junk_command_limit: { kind: 'int', default: '${stress?{1}:{100}}', min: 1, doc: 'The NOOP, VRFY, ETRN and RSET commands (and unknown ones) a client may send before the server disconnects' },
  smtpd_history_flush_threshold: { kind: 'int', default: '100', min: 1, doc: 'The commands after which the session transcript for postmaster notices is cut short' },
  line_length_limit: { kind: 'int', default: '2048', min: 512, doc: 'The longest SMTP command line the server reads' },
  disable_vrfy_command: { kind: 'bool', default: 'no', doc: 'Refuse the VRFY command' },
  smtpd_discard_ehlo_keyword_address_maps: { kind: 'tables', default: '', doc: 'By client address: EHLO keywords not announced to that client' },
  smtpd_discard_ehlo_keywords: { kind: 'list', default: '', doc: 'EHLO keywords not announced (and their commands refused); silent-discard: do not log that' },
  smtpd_forbid_bare_newline: { kind: 'string', default: 'normalize', doc: 'normalize (or yes): only CRLF.CRLF ends DATA, other bare LFs end a line; reject: bare LF is refused (smtpd_forbid_bare_newline_reject_code) and the client disconnected; no: bare LF is a line ending everywhere' },
  smtpd_forbid_bare_newline_reject_code: { kind: 'int', default: '550', min: 400, max: 599, doc: 'The reply code when smtpd_forbid_bare_newline = reject refuses a bare LF' },
  smtpd_forbid_bare_newline_exclusions: { kind: 'list', default: '$mynetworks', doc: 'Clients exempt from smtpd_forbid_bare_newline (they get "no")' },
  smtpd_forbid_unauth_pipelining: { kind: 'bool', default: 'yes', doc: 'Disconnect a client that sends commands before a reply it must wait for, or before the greeting' },
  smtputf8_enable: { kind: 'bool', default: 'yes', doc: 'Offer SMTPUTF8 and accept non-ASCII addresses declared with it' },
  smtpd_authorized_xclient_hosts: { kind: 'list', default: '', doc: 'Networks (address/prefix) of the proxies that may use XCLIENT to name the client' },
  smtpd_authorized_xforward_hosts: { kind: 'list', default: '', doc: 'Networks (address/prefix) of the content filters that may use XFORWARD' },
  smtpd_upstream_proxy_protocol: { kind: 'string', default: '', doc: 'haproxy: each connection starts with a PROXY protocol header (v1 or v2) naming the real client' },
  smtpd_upstream_proxy_timeout: { kind: 'time', default: '5s', timeUnit: 's', min: 1, doc: 'The time limit on reading the PROXY protocol header' },
});
