/*
 * bounce-clnt - how qmgr asks the bounce daemon (DESIGN §1) for a delivery
 * status notification about a message in active/: one JSON request over
 * private/bounce with the kind of notice and the recipients it is about
 * (address, ORCPT, NOTIFY, status and reason), one JSON reply once the
 * notice is safely queued (or that none was due). The bounce daemon reads
 * the message from the queue file itself. A connection is kept for the
 * next request (ipc-pool.ts). Shared by qmgr and the bounce daemon.
 */
import { join } from 'node:path';
import { IpcError } from '../util/ipc-frame.js';
import { keepConnection, openPooled } from '../util/ipc-pool.js';
import { wantsNotice, type ReportKind, type ReportRecipient } from './dsn-report.js';
import type { Params } from './params/param-registry.js';

/** The bounce service socket, relative to the queue directory. */
export const BOUNCE_SOCKET = join('private', 'bounce');

/** A recipient a notice is about, with its NOTIFY. */
export interface NoticeRecipient extends ReportRecipient {
  readonly notify: string;
}

/** qmgr → bounce: a notice of kind about recipients of the message queueId (in active/). */
export interface NoticeRequest {
  readonly kind: ReportKind;
  readonly queueId: string;
  readonly recipients: readonly NoticeRecipient[];
}

/** bounce → qmgr. */
export type NoticeReply = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** The double-bounce address: the sender of postmaster notices, and a recipient whose mail is discarded. */
export function doubleBounceAddress(params: Pick<Params, 'double_bounce_sender' | 'myorigin'>): string {
  return params.double_bounce_sender.includes('@') ? params.double_bounce_sender : `${params.double_bounce_sender}@${params.myorigin}`;
}

/**
 * True when a notice of kind about recipients of mail from sender goes to
 * anyone: never about mail from the double-bounce sender; about mail from
 * the null sender only a non-delivery notice to the postmaster (2bounce);
 * otherwise when a recipient's NOTIFY asks for it.
 */
export function noticeDue(params: Pick<Params, 'double_bounce_sender' | 'myorigin' | 'notify_classes'>, kind: ReportKind, sender: string, recipients: readonly NoticeRecipient[]): boolean {
  if (sender.toLowerCase() === doubleBounceAddress(params).toLowerCase()) return false;
  if (sender === '') return kind === 'failed' && params.notify_classes.includes('2bounce') && recipients.length > 0;
  return recipients.some((r) => wantsNotice(r.notify, kind));
}

/**
 * Has the notice sent (or finds none due, without asking the bounce
 * service); rejects when the bounce service cannot do it now.
 */
export async function requestNotice(
  params: Pick<Params, 'queue_directory' | 'ipc_timeout' | 'ipc_idle' | 'double_bounce_sender' | 'myorigin' | 'notify_classes'>,
  request: NoticeRequest,
  sender: string,
): Promise<void> {
  if (!noticeDue(params, request.kind, sender, request.recipients)) return;
  const path = join(params.queue_directory, BOUNCE_SOCKET);
  const timeoutMs = params.ipc_timeout * 1000;
  let opened;
  try {
    opened = await openPooled(path, timeoutMs, async (conn) => {
      await conn.sendJson(request);
      return conn.nextJson<NoticeReply>(timeoutMs);
    });
  } catch (err) {
    throw new IpcError(`bounce service unavailable: ${(err as Error).message}`);
  }
  keepConnection(path, opened.conn, params.ipc_idle);
  if (!opened.result.ok) throw new Error(opened.result.reason);
}
