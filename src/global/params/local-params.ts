/*
 * local-params - the local delivery agent's parameters: mailbox locations,
 * commands, .forward, locking and delivery limits. They live here, beside
 * the shared ones, because the registry in global/ may not import a
 * daemon's folder.
 * Defaults are Postfix's (local(8)) except where Petrel names itself
 * (mail_name, directories, accounts) or takes a modern default.
 */
import { defineParams } from './param-types.js';

/** Local delivery parameters. */
export const LOCAL_PARAMS = defineParams({
  home_mailbox: { kind: 'string', default: '', doc: 'A mailbox path relative to the home directory (ending in / for Maildir)' },
  mail_spool_directory: { kind: 'string', default: '/var/mail', doc: 'The spool of mbox files named after users (ending in / for Maildir)' },
  mailbox_size_limit: { kind: 'size', default: '51200000', min: 0, doc: 'The largest mailbox or Maildir file' },
  mailbox_command: { kind: 'string', raw: true, default: '', doc: 'A command that delivers to the mailbox instead of the local agent' },
  forward_path: { kind: 'list', raw: true, default: '$home/.forward${recipient_delimiter}${extension}, $home/.forward', doc: 'Where local delivery looks for .forward files' },
  luser_relay: { kind: 'string', raw: true, default: '', doc: 'The destination of mail for unknown local recipients' },
  mailbox_transport: { kind: 'string', default: '', doc: 'transport:nexthop that mailbox delivery is handed to (Dovecot LMTP ...), for known and unknown users alike' },
  mailbox_transport_maps: { kind: 'tables', default: '', doc: 'transport:nexthop for mailbox delivery by user name (before mailbox_transport)' },
  fallback_transport: { kind: 'string', default: '', doc: 'transport:nexthop for recipients not in the passwd database (before luser_relay)' },
  fallback_transport_maps: { kind: 'tables', default: '', doc: 'transport:nexthop for recipients not in the passwd database, by user name (before fallback_transport)' },
  command_expansion_filter: {
    kind: 'string',
    default: '1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
    doc: 'The characters $name expansions may put into mailbox_command; others become "_"',
  },
  allow_mail_to_commands: { kind: 'list', default: 'alias, forward', doc: 'Alias and .forward sources that may deliver to |command' },
  allow_mail_to_files: { kind: 'list', default: 'alias, forward', doc: 'Alias and .forward sources that may deliver to /file' },
  local_command_shell: { kind: 'string', default: '', doc: 'The shell that runs |command deliveries (empty: /bin/sh)' },
  mailbox_delivery_lock: { kind: 'list', default: 'dotlock', doc: 'How mbox files are locked' },
  deliver_lock_attempts: { kind: 'int', default: '20', min: 0, doc: 'Attempts to lock a mailbox' },
  deliver_lock_delay: { kind: 'time', default: '1s', timeUnit: 's', min: 0, doc: 'The wait between mailbox lock attempts' },
  stale_lock_time: { kind: 'time', default: '500s', timeUnit: 's', min: 0, doc: 'The age after which a dot-lock file is removed' },
  owner_request_special: { kind: 'bool', default: 'yes', doc: 'Treat owner-x and x-request aliases specially' },
  command_time_limit: { kind: 'time', default: '1000s', timeUnit: 's', min: 0, doc: 'The time limit on a command delivery' },
  local_destination_concurrency_limit: { kind: 'int', default: '2', min: 0, doc: 'The most parallel local deliveries to one user' },
  local_destination_recipient_limit: { kind: 'int', default: '1', min: 0, doc: 'The most recipients per local delivery' },
});
