/*
 * smtpd-params - the SMTP server's parameters: banner, restriction lists, limits
 * and timeouts. They live here, beside the shared ones, because the
 * registry in global/ may not import a daemon's folder.
 * Defaults are Postfix's (smtpd(8)) except where Petrel names itself
 * (mail_name, directories, accounts) or takes a modern default.
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
  smtpd_timeout: { kind: 'time', default: '${stress?{10}:{300}}s', timeUnit: 's', min: 0, doc: "The time limit on a client's SMTP command or data" },
});
