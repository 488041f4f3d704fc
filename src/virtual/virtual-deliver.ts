/*
 * virtual-deliver - virtual(8) delivery of one recipient: Delivered-To:
 * loop detection, the mailbox lookup (virtual-lookup.ts), then the write as
 * the mailbox's owner: a Maildir (created on first delivery) or an mbox
 * file (dot-locked, its folder created on first delivery), with the
 * Return-Path:, Delivered-To: and X-Original-To: headers virtual(8)
 * prepends. Limits: virtual_mailbox_limit (or the mailbox's own limit from
 * virtual_mailbox_limit_maps) bounds an mbox file, and each Maildir message;
 * with virtual_maildir_extended it is the quota of the whole Maildir, kept
 * in its Maildir++ maildirsize file (maildir-quota.ts) with the INBOX only
 * (virtual_mailbox_limit_inbox) and the Trash folder (virtual_trash_count,
 * virtual_trash_name) counted as configured. Mail over a quota is deferred
 * (4.2.2) or, with virtual_overquota_bounce, bounced (5.2.2), with
 * virtual_maildir_limit_message as the reason; mail over the plain
 * virtual_mailbox_limit bounces as in Postfix.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DeliveryRecipient } from '../global/deliver-clnt.js';
import type { OpenMessage } from '../global/deliver-recipients.js';
import { deliveryHeaders } from '../global/delivery-headers.js';
import { addToMaildirSize, currentMaildirSize, folderUsage, recalculateMaildirSize, STALE_OVER_QUOTA_MS, type MaildirSize } from '../global/maildir-quota.js';
import { deliverToMaildir } from '../global/mailbox-maildir.js';
import { deliverLockOptions, deliverToMbox, mboxFromLine } from '../global/mailbox-mbox.js';
import type { IdentityRunner } from '../global/privileges.js';
import { fileFailure, type Outcome } from '../global/mailbox-outcome.js';
import { MailboxLimitError, type MessageLines } from '../global/mailbox-write.js';
import type { Params } from '../global/params/param-registry.js';
import { contentLines } from '../global/queue/queue-file-read.js';
import { findMailbox, type VirtualMailbox, type VirtualTables } from './virtual-lookup.js';

/** The runner of a mailbox owner's identity sections (global/privileges.ts). */
export type AsOwner = (owner: { readonly uid: number; readonly gid: number }) => IdentityRunner;

/** What virtual delivery keeps for its whole life. */
export interface VirtualContext {
  readonly params: Params;
  readonly tables: VirtualTables;
  readonly asOwner: AsOwner;
}

/** A Maildir quota would be passed. */
class QuotaExceededError extends Error {}

/** The usage that counts against the quota: the INBOX alone, or everything less the Trash unless it counts. */
function countedBytes(dir: string, params: Params, state: MaildirSize): number {
  if (params.virtual_mailbox_limit_inbox) return folderUsage(dir).bytes;
  if (params.virtual_trash_count || params.virtual_trash_name === '') return state.usage.bytes;
  return state.usage.bytes - folderUsage(join(dir, params.virtual_trash_name)).bytes;
}

/** Refuses a message of size bytes that would pass limit; a stale file is recalculated once before refusing. */
function admitQuota(dir: string, params: Params, limit: number, size: number): void {
  let state = currentMaildirSize(dir, limit);
  const over = (): boolean => countedBytes(dir, params, state) + size > limit || (state.limitMessages > 0 && state.usage.messages + 1 > state.limitMessages);
  if (!over()) return;
  if (Date.now() - state.modified > STALE_OVER_QUOTA_MS) {
    state = recalculateMaildirSize(dir, limit, state.limitMessages);
    if (!over()) return;
  }
  throw new QuotaExceededError();
}

async function writeMaildir(box: VirtualMailbox, params: Params, lines: MessageLines, ids: IdentityRunner): Promise<void> {
  const dir = box.path;
  const quota = params.virtual_maildir_extended && box.limit > 0;
  let written = 0;
  await deliverToMaildir(dir, lines, {
    sizeLimit: quota ? 0 : box.limit,
    ids,
    admit: (size) => {
      written = size;
      if (quota) admitQuota(dir, params, box.limit, size);
    },
  });
  // Kept up to date whenever it exists, so Dovecot's figure stays right for mailboxes without a quota here.
  ids(() => addToMaildirSize(dir, { bytes: written, messages: 1 }));
}

async function writeMbox(box: VirtualMailbox, params: Params, sender: string, lines: MessageLines, ids: IdentityRunner): Promise<void> {
  ids(() => mkdirSync(dirname(box.path), { recursive: true, mode: 0o700 }));
  await deliverToMbox(box.path, mboxFromLine(sender, new Date()), lines, {
    sizeLimit: box.limit,
    lock: deliverLockOptions(params),
    ids,
  });
}

/** Writes the message into box, naming paths with the owner's ids; the outcome. */
async function write(box: VirtualMailbox, params: Params, sender: string, lines: MessageLines, ids: IdentityRunner): Promise<Outcome> {
  const quota = params.virtual_maildir_extended || box.perUserLimit;
  try {
    if (box.maildir) await writeMaildir(box, params, lines, ids);
    else await writeMbox(box, params, sender, lines, ids);
    return { status: 'sent', dsn: '2.0.0', reason: box.maildir ? 'delivered to maildir' : 'delivered to mailbox' };
  } catch (err) {
    if (err instanceof QuotaExceededError || (quota && err instanceof MailboxLimitError)) {
      return params.virtual_overquota_bounce
        ? { status: 'bounced', dsn: '5.2.2', reason: params.virtual_maildir_limit_message }
        : { status: 'deferred', dsn: '4.2.2', reason: params.virtual_maildir_limit_message };
    }
    return fileFailure(err, `${box.maildir ? 'maildir' : 'mailbox'} ${box.path}`);
  }
}

/** Delivers message to one recipient; the outcome. */
export async function deliverRecipient(ctx: VirtualContext, message: OpenMessage, rcpt: DeliveryRecipient): Promise<Outcome> {
  if (message.deliveredTo.has(rcpt.address.toLowerCase())) {
    return { status: 'bounced', dsn: '5.4.6', reason: `mail forwarding loop for ${rcpt.address}` };
  }
  const box = await findMailbox(ctx.tables, ctx.params, rcpt.address);
  if ('status' in box) return box;
  // An address verification probe learns that the mailbox exists; nothing is written.
  if (message.request.probe === true) return { status: 'sent', dsn: '2.0.0', reason: box.maildir ? 'delivers to maildir' : 'delivers to mailbox' };
  const lines = contentLines(message.file, message.info, deliveryHeaders(message.request.sender, rcpt));
  return write(box, ctx.params, message.request.sender, lines, ctx.asOwner(box));
}
