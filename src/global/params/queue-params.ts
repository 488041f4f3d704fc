/*
 * queue-params - queue, scheduling and notification parameters: lifetimes, backoff,
 * active-queue limits, destination concurrency, message limits and who is
 * told about problems.
 * Defaults are Postfix's (postconf(5), qmgr(8), cleanup(8), bounce(8)) except where Petrel names itself
 * (mail_name, directories, accounts) or takes a modern default.
 */
import { defineParams } from './param-types.js';

/** Queue, scheduling, cleanup and bounce parameters. */
export const QUEUE_PARAMS = defineParams({
  maximal_queue_lifetime: { kind: 'time', default: '5d', timeUnit: 'd', min: 0, doc: 'How long a message may stay deferred before it bounces' },
  bounce_size_limit: { kind: 'size', default: '50000', min: 0, doc: 'The largest original message returned whole in a non-delivery notice (larger ones: headers only)' },
  delay_warning_time: { kind: 'time', default: '0h', timeUnit: 'h', min: 0, doc: 'When a sender is told that mail is still deferred (0: never)' },
  notify_classes: { kind: 'list', default: 'resource, software', doc: 'Which problems the postmaster is told about: bounce, 2bounce, delay, policy, protocol, resource, software' },
  error_notice_recipient: { kind: 'string', default: 'postmaster', doc: 'Who gets the SMTP session transcripts of notify_classes policy, protocol, resource and software' },
  bounce_notice_recipient: { kind: 'string', default: 'postmaster', doc: 'Who gets the postmaster copy of non-delivery notices (notify_classes bounce)' },
  '2bounce_notice_recipient': { kind: 'string', default: 'postmaster', doc: 'Who gets undeliverable non-delivery notices (notify_classes 2bounce)' },
  delay_notice_recipient: { kind: 'string', default: 'postmaster', doc: 'Who gets the postmaster copy of delay notices (notify_classes delay)' },
  double_bounce_sender: { kind: 'string', default: 'double-bounce', doc: 'The sender of postmaster notices; mail to it is discarded' },
  bounce_queue_lifetime: { kind: 'time', default: '5d', timeUnit: 'd', min: 0, doc: 'How long a bounce message may stay deferred before it is dropped' },
  minimal_backoff_time: { kind: 'time', default: '300s', timeUnit: 's', min: 0, doc: 'The shortest time a deferred message waits before the next attempt' },
  maximal_backoff_time: { kind: 'time', default: '4000s', timeUnit: 's', min: 0, doc: 'The longest time a deferred message waits before the next attempt' },
  queue_run_delay: { kind: 'time', default: '300s', timeUnit: 's', min: 0, doc: 'How often qmgr scans the deferred queue' },
  qmgr_message_active_limit: { kind: 'int', default: '20000', min: 0, doc: 'The most messages in the active queue' },
  default_destination_concurrency_limit: { kind: 'int', default: '20', min: 0, doc: 'The most parallel deliveries to one destination' },
  initial_destination_concurrency: { kind: 'int', default: '5', min: 1, doc: 'The parallel deliveries a destination starts with (slow start)' },
  default_destination_concurrency_failed_cohort_limit: {
    kind: 'int',
    default: '1',
    min: 0,
    doc: 'Failed deliveries in a row after which a destination is marked dead (0: never)',
  },
  default_destination_rate_delay: { kind: 'time', default: '0s', timeUnit: 's', min: 0, doc: 'The pause between deliveries to one destination (more than 0: one at a time)' },
  default_destination_recipient_limit: { kind: 'int', default: '50', min: 0, doc: 'The most recipients per delivery' },
  defer_transports: { kind: 'list', default: '', doc: 'Transports whose mail is deferred until a flush' },
  soft_bounce: { kind: 'bool', default: 'no', doc: 'Keep mail queued that would bounce (status=SOFTBOUNCE), and answer 4xx where smtpd would answer 5xx' },
  message_size_limit: { kind: 'size', default: '10240000', min: 0, doc: 'The largest message accepted, in bytes' },
  header_size_limit: { kind: 'size', default: '102400', min: 0, doc: 'The largest header accepted, in bytes' },
  hopcount_limit: { kind: 'int', default: '50', min: 0, doc: 'The most Received: headers before a message is rejected as a loop' },
  always_add_missing_headers: { kind: 'bool', default: 'no', doc: 'Add missing From, To, Date and Message-ID to all mail' },
  undisclosed_recipients_header: { kind: 'string', default: '', doc: 'The To: header added when a message has no recipient headers' },
  always_bcc: { kind: 'string', default: '', doc: 'An address that receives a copy of every message' },
  authorized_flush_users: { kind: 'list', default: 'static:anyone', fileItems: true, doc: 'Local users who may flush the queue (postqueue -f, -s, -i; sendmail -q); root and mail_owner always may' },
  authorized_mailq_users: { kind: 'list', default: 'static:anyone', fileItems: true, doc: 'Local users who may list the queue (mailq, postqueue -p, -j); root and mail_owner always may' },
  authorized_submit_users: { kind: 'list', default: 'static:anyone', fileItems: true, doc: 'Local users who may submit mail with sendmail: names, !name, type:table, /file/name (empty: no one)' },
});
