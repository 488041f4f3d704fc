/*
 * mailbox-outcome - what became of one mailbox delivery, and how a failed
 * mailbox or file write reads as one: a message that would pass the size
 * limit bounces (5.2.2 "mailbox full"), a lock still held after every
 * attempt or any other file system fault defers (4.2.0). Shared by the
 * local and virtual delivery agents.
 */
import { MailboxLockError } from './mailbox-mbox.js';
import { MailboxLimitError } from './mailbox-write.js';

/** What became of one delivery. */
export interface Outcome {
  readonly status: 'sent' | 'deferred' | 'bounced';
  readonly dsn: string;
  readonly reason: string;
  /** The agent the delivery was handed to (mailbox_transport) logged it and applied its own soft_bounce: passed on as it is. */
  readonly loggedByAgent?: true;
  /** From that agent, for the success report: "relayed" (an SMTP next hop), or the next hop took the NOTIFY over. */
  readonly action?: 'relayed';
  readonly notifyPassed?: boolean;
}

/** The outcome of a failed file write; what names the file ("mailbox /var/mail/joe"). */
export function fileFailure(err: unknown, what: string): Outcome {
  if (err instanceof MailboxLimitError) return { status: 'bounced', dsn: '5.2.2', reason: `cannot update ${what}: mailbox full` };
  if (err instanceof MailboxLockError) return { status: 'deferred', dsn: '4.2.0', reason: `cannot update ${what}: unable to lock mailbox` };
  return { status: 'deferred', dsn: '4.2.0', reason: `cannot update ${what}: ${(err as Error).message}` };
}
