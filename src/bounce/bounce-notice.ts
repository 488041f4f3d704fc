/*
 * bounce-notice - the delivery status notifications the bounce daemon sends
 * to the sender for qmgr (dsn-report.ts builds them): a non-delivery notice for recipients that
 * bounced (a 5xx result, or past maximal_queue_lifetime), a success notice
 * for recipients delivered with NOTIFY=SUCCESS, a delay warning for
 * recipients still deferred after delay_warning_time, each from the null
 * sender through cleanup as a new message; and the postmaster notices of
 * notify_classes (bounce, 2bounce, delay) from the double-bounce sender.
 * No notice goes to the null sender, nor for recipients whose NOTIFY
 * excludes it. Logs "ID: sender non-delivery notification: NEWID" (or
 * "delivery status", "delay", "postmaster non-delivery notification").
 */
import { doubleBounceAddress, noticeDue, type NoticeRecipient } from '../global/bounce-clnt.js';
import { postNotice } from '../global/cleanup-clnt.js';
import { reportParts, wantsNotice, type ReportKind } from '../global/dsn-report.js';
import type { Params } from '../global/params/param-registry.js';
import { contentChunks, type QueueFileInfo } from '../global/queue/queue-file-read.js';
import { msg } from '../util/msg.js';

const LOG_NAMES: Record<ReportKind, string> = {
  failed: 'sender non-delivery notification',
  delayed: 'sender delay notification',
  delivered: 'sender delivery status notification',
};

/** One notice: to whom, from whom, with the original whole (as allowed) or headers only. */
async function post(params: Params, kind: ReportKind, queueId: string, path: string, info: QueueFileInfo, named: readonly NoticeRecipient[], to: string, from: string, headersOnly: boolean): Promise<string> {
  const message = { queueId, sender: info.sender, arrival: info.arrival, envid: info.attrs.envid, ret: headersOnly ? 'HDRS' : info.attrs.ret, contentSize: info.contentSize, headerSize: info.headerSize };
  const { head, includeBody, tail } = reportParts(kind, params.myhostname, message, named, params.bounce_size_limit);
  return postNotice(params, from, to, noticeContent(path, info, `From: MAILER-DAEMON@${params.myhostname} (Mail Delivery System)\nTo: ${to}\n${head}`, includeBody, tail));
}

/** The notice's content: its head, the original (whole or up to the end of its header), its tail. */
function* noticeContent(path: string, info: QueueFileInfo, head: string, includeBody: boolean, tail: string): Generator<Buffer> {
  yield Buffer.from(head, 'utf8');
  const limit = includeBody ? info.contentSize : info.headerSize;
  let sent = 0;
  for (const chunk of contentChunks(path, info)) {
    const take = Math.min(chunk.length, limit - sent);
    if (take <= 0) break;
    yield chunk.subarray(0, take);
    sent += take;
  }
  yield Buffer.from(tail, 'utf8');
}

/**
 * Sends the notice of kind about the recipients that want it to the
 * sender, and the postmaster's notices notify_classes asks for: a copy of
 * the headers with each non-delivery (bounce) or delay (delay) notice, and
 * a non-delivery notice about a message from the null sender (2bounce).
 * Nothing is sent about mail from the double-bounce sender. Returns the
 * sender's notice's queue ID, or undefined when none went to the sender.
 */
export async function sendNotice(
  params: Params,
  kind: ReportKind,
  queueId: string,
  path: string,
  info: QueueFileInfo,
  recipients: readonly NoticeRecipient[],
): Promise<string | undefined> {
  const doubleBounce = doubleBounceAddress(params);
  const classes = params.notify_classes;
  if (!noticeDue(params, kind, info.sender, recipients)) return undefined;
  if (info.sender === '') {
    const id = await post(params, kind, queueId, path, info, recipients, params['2bounce_notice_recipient'], doubleBounce, false);
    msg.info(`${queueId}: postmaster non-delivery notification: ${id}`);
    return undefined;
  }
  const named = recipients.filter((r) => wantsNotice(r.notify, kind));
  const id = await post(params, kind, queueId, path, info, named, info.sender, '', false);
  msg.info(`${queueId}: ${LOG_NAMES[kind]}: ${id}`);
  const copyTo = kind === 'failed' && classes.includes('bounce') ? params.bounce_notice_recipient : kind === 'delayed' && classes.includes('delay') ? params.delay_notice_recipient : undefined;
  if (copyTo !== undefined) {
    const copy = await post(params, kind, queueId, path, info, named, copyTo, doubleBounce, true);
    msg.info(`${queueId}: postmaster ${kind === 'failed' ? 'non-delivery' : 'delay'} notification: ${copy}`);
  }
  return id;
}
