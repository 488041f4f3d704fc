/*
 * content-check-params - cleanup(8)'s built-in content inspection
 * (header_checks(5)), and the receive_override_options and content_filter
 * that smtpd and pickup pass on to cleanup with each message. Defaults are
 * Postfix's (postconf(5)).
 */
import { defineParams } from './param-types.js';

/** What receive_override_options may name (no_milters asks for nothing: Petrel runs no milters). */
export const RECEIVE_OVERRIDES = ['no_unknown_recipient_checks', 'no_address_mappings', 'no_header_body_checks', 'no_milters'] as const;

/** Content inspection parameters. */
export const CONTENT_CHECK_PARAMS = defineParams({
  header_checks: { kind: 'tables', default: '', doc: 'Tables matched against each logical message header (header_checks(5))' },
  mime_header_checks: { kind: 'tables', default: '$header_checks', doc: 'Tables matched against MIME headers and the headers of body parts' },
  nested_header_checks: { kind: 'tables', default: '$header_checks', doc: 'Tables matched against the headers of attached messages (message/rfc822)' },
  body_checks: { kind: 'tables', default: '', doc: 'Tables matched against each body line, MIME boundaries included' },
  body_checks_size_limit: { kind: 'size', default: '51200', min: 0, doc: 'How much of each body segment (attachment) body_checks inspect, in bytes' },
  disable_mime_input_processing: { kind: 'bool', default: 'no', doc: 'Inspect the content without MIME structure: every line after the primary header is body' },
  message_drop_headers: { kind: 'list', default: 'bcc, content-length, resent-bcc, return-path', doc: 'Primary headers cleanup removes from every message (after header_checks)' },
  receive_override_options: { kind: 'list', default: '', choices: RECEIVE_OVERRIDES, doc: 'Checks and mappings to skip for mail this service receives (set with -o in master.cf)' },
  content_filter: {
    kind: 'string',
    default: '',
    doc: 'transport:destination every message smtpd or pickup receives is sent to once queued, unless a FILTER or REDIRECT action says otherwise (empty on the service that takes filtered mail back)',
  },
});
