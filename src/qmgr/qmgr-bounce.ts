/*
 * qmgr-bounce - the plain non-delivery notice qmgr sends when recipients
 * bounce (a 5xx result, or a message past maximal_queue_lifetime): a new
 * message from the null sender to the original sender, through cleanup,
 * naming each failed recipient and its reason, with the original headers
 * attached. No notice goes out for a message from the null sender. (The
 * RFC 3464 multipart/report notices are a later piece of work.)
 */
import { CleanupClient } from '../global/cleanup-clnt.js';
import type { Params } from '../global/params/param-registry.js';
import { contentStream, type QueueFileInfo } from '../global/queue/queue-file-read.js';
import { msg } from '../util/msg.js';

/** A recipient that failed, with why. */
export interface BouncedRecipient {
  readonly address: string;
  readonly dsn: string;
  readonly reason: string;
}

/** Sends the notice; returns its queue ID, or undefined when none is due. */
export async function sendBounce(params: Params, queueId: string, path: string, info: QueueFileInfo, failed: readonly BouncedRecipient[]): Promise<string | undefined> {
  if (info.sender === '' || failed.length === 0) return undefined;
  const opened = await CleanupClient.begin(
    params,
    { op: 'begin', sender: '', arrival: Date.now(), attrs: { rewrite_context: 'local' }, local: true },
  );
  if (!(opened instanceof CleanupClient)) throw new Error(`cleanup refused the bounce: ${opened.text}`);
  await opened.recipient({ address: info.sender, original: info.sender, notify: '', orcpt: '' });
  const lines = [
    `From: MAILER-DAEMON@${params.myhostname} (Mail Delivery System)`,
    `To: ${info.sender}`,
    'Subject: Undelivered Mail Returned to Sender',
    'Auto-Submitted: auto-replied',
    '',
    `This is the mail system at host ${params.myhostname}.`,
    '',
    "I'm sorry to have to inform you that your message could not",
    'be delivered to one or more recipients. It is attached below.',
    '',
    ...failed.map((f) => `<${f.address}>: ${f.reason} (dsn=${f.dsn})`),
    '',
    `--- The headers of the original message (queue ID ${queueId}) follow ---`,
    '',
  ];
  await opened.content(Buffer.from(`${lines.join('\n')}\n`, 'utf8'));
  let sent = 0;
  for await (const chunk of contentStream(path, info) as AsyncIterable<Buffer>) {
    const take = Math.min(chunk.length, info.headerSize - sent);
    if (take <= 0) break;
    await opened.content(chunk.subarray(0, take));
    sent += take;
  }
  const reply = await opened.finish();
  if (reply.status !== 'ok') throw new Error(`cleanup refused the bounce: ${reply.text}`);
  msg.info(`${queueId}: sender non-delivery notification: ${reply.id}`);
  return reply.id;
}
