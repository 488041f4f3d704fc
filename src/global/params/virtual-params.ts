/*
 * virtual-params - the virtual delivery agent's parameters (virtual(8)):
 * where mailboxes are, whose they are, how mbox files are locked and how
 * big they may grow; and the quota parameters of the VDA patch that
 * virtual-hosting tutorials use (per-user limits, Maildir++ maildirsize,
 * over-quota handling). They live here, beside the shared ones, because the
 * registry in global/ may not import a daemon's folder. virtual_transport,
 * virtual_mailbox_domains and virtual_mailbox_maps, which routing and smtpd
 * read too, are in address-params.ts.
 * Defaults are Postfix's and the VDA patch's, except virtual_mailbox_lock:
 * Petrel locks mbox files with dotlock only.
 */
import { defineParams } from './param-types.js';

/** Virtual delivery and quota parameters. */
export const VIRTUAL_PARAMS = defineParams({
  virtual_mailbox_base: { kind: 'string', default: '', doc: 'The folder every virtual_mailbox_maps result is relative to' },
  virtual_uid_maps: { kind: 'tables', default: '', doc: 'Tables giving the uid a virtual mailbox is written as (static:5000 for all)' },
  virtual_gid_maps: { kind: 'tables', default: '', doc: 'Tables giving the gid a virtual mailbox is written as (static:5000 for all)' },
  virtual_minimum_uid: { kind: 'int', default: '100', min: 1, doc: 'The lowest uid virtual_uid_maps may give' },
  virtual_mailbox_lock: { kind: 'list', default: 'dotlock', doc: 'How virtual mbox files are locked' },
  virtual_mailbox_limit: { kind: 'size', default: '51200000', min: 0, doc: 'The largest virtual mbox file or Maildir message (with virtual_maildir_extended: the Maildir quota); 0: none' },
  virtual_destination_concurrency_limit: { kind: 'int', default: '$default_destination_concurrency_limit', min: 0, doc: 'The most parallel virtual deliveries to one domain' },
  virtual_destination_recipient_limit: { kind: 'int', default: '$default_destination_recipient_limit', min: 0, doc: 'The most recipients per virtual delivery' },
  virtual_mailbox_limit_maps: { kind: 'tables', default: '', doc: 'Tables giving a mailbox its own limit in bytes (0: none)' },
  virtual_mailbox_limit_override: { kind: 'bool', default: 'no', doc: 'Let virtual_mailbox_limit_maps give limits above virtual_mailbox_limit' },
  virtual_maildir_extended: { kind: 'bool', default: 'no', doc: 'Keep Maildir quotas in a Maildir++ maildirsize file (the limit bounds the whole Maildir)' },
  virtual_overquota_bounce: { kind: 'bool', default: 'no', doc: 'Bounce mail for a mailbox over its quota instead of deferring it' },
  virtual_maildir_limit_message: {
    kind: 'string',
    default: "Sorry, the user's maildir has overdrawn his diskspace quota, please try again later.",
    doc: 'The reason given for mail refused by a quota',
  },
  virtual_mailbox_limit_inbox: { kind: 'bool', default: 'no', doc: 'Count only the INBOX of a Maildir against its quota' },
  virtual_trash_count: { kind: 'bool', default: 'no', doc: 'Count the Trash folder of a Maildir against its quota' },
  virtual_trash_name: { kind: 'string', default: '.Trash', doc: 'The Maildir++ folder virtual_trash_count is about' },
});
