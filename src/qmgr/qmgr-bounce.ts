/*
 * qmgr-bounce - the delivery status notifications qmgr sends to the sender
 * (dsn-report.ts builds them): a non-delivery notice for recipients that
 * bounced (a 5xx result, or past maximal_queue_lifetime), a success notice
 * for recipients delivered with NOTIFY=SUCCESS, a delay warning for
 * recipients still deferred after delay_warning_time. Each goes from the
 * null sender through cleanup as a new message. No notice is sent about a
 * message from the null sender (no notice about a notice), nor for
 * recipients whose NOTIFY excludes it. Logs "ID: sender non-delivery
 * notification: NEWID" (or "delivery status notification", "delay
 * status notification").
 */
import { CleanupClient } from '../global/cleanup-clnt.js';
import { reportParts, wantsNotice, type ReportKind, type ReportRecipient } from '../global/dsn-report.js';
import type { Params } from '../global/params/param-registry.js';
import { contentStream, type QueueFileInfo } from '../global/queue/queue-file-read.js';
import { msg } from '../util/msg.js';

/** A recipient a notice is about, with its NOTIFY. */
export interface NoticeRecipient extends ReportRecipient {
  readonly notify: string;
}

const LOG_NAMES: Record<ReportKind, string> = {
  failed: 'sender non-delivery notification',
  delayed: 'sender delay notification',
  delivered: 'sender delivery status notification',
};

/** Sends the notice of kind about the recipients that want it; returns its queue ID, or undefined when none is due. */
export async function sendNotice(
  params: Params,
  kind: ReportKind,
  queueId: string,
  path: string,
  info: QueueFileInfo,
  recipients: readonly NoticeRecipient[],
): Promise<string | undefined> {
  const named = recipients.filter((r) => wantsNotice(r.notify, kind));
  if (info.sender === '' || named.length === 0) return undefined;
  const message = { queueId, sender: info.sender, arrival: info.arrival, envid: info.attrs.envid, ret: info.attrs.ret, contentSize: info.contentSize, headerSize: info.headerSize };
  const { head, includeBody, tail } = reportParts(kind, params.myhostname, message, named, params.bounce_size_limit);
  const opened = await CleanupClient.begin(params, { op: 'begin', sender: '', arrival: Date.now(), attrs: { rewrite_context: 'local' }, local: true });
  if (!(opened instanceof CleanupClient)) throw new Error(`cleanup refused the notice: ${opened.text}`);
  await opened.recipient({ address: info.sender, original: info.sender, notify: '', orcpt: '' });
  await opened.content(Buffer.from(`From: MAILER-DAEMON@${params.myhostname} (Mail Delivery System)\nTo: ${info.sender}\n${head}`, 'utf8'));
  const limit = includeBody ? info.contentSize : info.headerSize;
  let sent = 0;
  for await (const chunk of contentStream(path, info) as AsyncIterable<Buffer>) {
    const take = Math.min(chunk.length, limit - sent);
    if (take <= 0) break;
    await opened.content(chunk.subarray(0, take));
    sent += take;
  }
  await opened.content(Buffer.from(tail, 'utf8'));
  const reply = await opened.finish();
  if (reply.status !== 'ok') throw new Error(`cleanup refused the notice: ${reply.text}`);
  msg.info(`${queueId}: ${LOG_NAMES[kind]}: ${reply.id}`);
  return reply.id;
}
