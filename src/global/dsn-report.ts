/*
 * dsn-report - delivery status notifications (RFC 3464, RFC 3462): a
 * multipart/report with a human-readable part, a message/delivery-status
 * part (Reporting-MTA, the queue ID, Arrival-Date, Original-Envelope-Id;
 * per recipient Final-Recipient, Original-Recipient, Action, Status,
 * Remote-MTA, Diagnostic-Code) and the original message: whole
 * (message/rfc822) unless the sender asked for headers only (RET=HDRS) or
 * it is larger than bounce_size_limit, then its header
 * (text/rfc822-headers). Which recipients a notice may name follows their
 * NOTIFY (RFC 3461). The original content is streamed from the queue file,
 * never held whole.
 */
import { rfc5322Date } from './mail-date.js';

/** The kinds of notice. */
export type ReportKind = 'failed' | 'delayed' | 'delivered';

/** One recipient in a report. */
export interface ReportRecipient {
  readonly address: string;
  /** DSN ORCPT as given ("rfc822;user@example.com"), or "". */
  readonly orcpt: string;
  readonly dsn: string;
  readonly reason: string;
  /** Overrides the report's action for this recipient ("relayed" in a success report). */
  readonly action?: 'relayed';
}

/** The message a report is about. */
export interface ReportedMessage {
  readonly queueId: string;
  readonly sender: string;
  readonly arrival: number;
  readonly envid?: string;
  readonly ret?: string;
  /** The content size and its header part's size, in bytes. */
  readonly contentSize: number;
  readonly headerSize: number;
}

/** Whether a recipient with this NOTIFY (as stored: "" or e.g. "SUCCESS,DELAY") wants a notice of kind. */
export function wantsNotice(notify: string, kind: ReportKind): boolean {
  const keywords = notify.toUpperCase().split(',').filter((k) => k !== '');
  if (kind === 'failed') return keywords.length === 0 || keywords.includes('FAILURE');
  if (kind === 'delayed') return keywords.length === 0 || keywords.includes('DELAY');
  return keywords.includes('SUCCESS');
}

const SUBJECTS: Record<ReportKind, string> = {
  failed: 'Undelivered Mail Returned to Sender',
  delayed: 'Delayed Mail (still being retried)',
  delivered: 'Successful Mail Delivery Report',
};

const INTRO: Record<ReportKind, string[]> = {
  failed: ['Your message could not be delivered to the recipients listed below.', 'The reasons follow, and your message is attached at the end.'],
  delayed: ['Your message has not been delivered yet to the recipients listed below.', 'Delivery will be tried again; you do not need to send it again.'],
  delivered: ['Your message was delivered to the recipients listed below,', 'as you asked to be told.'],
};

/** "host X[A] said: REPLY (in reply to ... command)" as Remote-MTA and the SMTP reply. */
function remoteParts(reason: string): { mta: string; reply: string } | undefined {
  const match = /^host (\S+?)\[[^\]]*\] said: (.*) \(in reply to .* command\)$/s.exec(reason);
  return match === null ? undefined : { mta: match[1] as string, reply: match[2] as string };
}

/** The text of the report before the original content, and its closing text. */
export function reportParts(
  kind: ReportKind,
  reportingMta: string,
  message: ReportedMessage,
  recipients: readonly ReportRecipient[],
  sizeLimit: number,
): { head: string; includeBody: boolean; tail: string } {
  const boundary = `${message.queueId}.${Date.now()}/${reportingMta}`;
  const includeBody = kind === 'failed' && message.ret !== 'HDRS' && (sizeLimit <= 0 || message.contentSize <= sizeLimit);
  const human = [
    `This is the mail system at host ${reportingMta}.`,
    '',
    ...INTRO[kind],
    '',
    'If you need help, write to postmaster and include this report.',
    '',
    ...recipients.map((r) => `<${r.address}>: ${r.reason}`),
  ];
  const perMessage = [
    `Reporting-MTA: dns; ${reportingMta}`,
    `X-Postfix-Queue-ID: ${message.queueId}`,
    `X-Postfix-Sender: rfc822; ${message.sender}`,
    ...(message.envid === undefined ? [] : [`Original-Envelope-Id: ${message.envid}`]),
    `Arrival-Date: ${rfc5322Date(new Date(message.arrival))}`,
  ];
  const perRecipient = recipients.map((r) => {
    const remote = remoteParts(r.reason);
    return [
      '',
      `Final-Recipient: rfc822; ${r.address}`,
      ...(r.orcpt === '' ? [] : [`Original-Recipient: ${r.orcpt.replace(/^rfc822;\s*/i, 'rfc822; ')}`]),
      `Action: ${r.action ?? kind}`,
      `Status: ${r.dsn}`,
      ...(remote === undefined ? [] : [`Remote-MTA: dns; ${remote.mta}`]),
      `Diagnostic-Code: ${remote === undefined ? `X-Postfix; ${r.reason}` : `smtp; ${remote.reply}`}`,
    ];
  });
  const head = [
    `Subject: ${SUBJECTS[kind]}`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status;\n\tboundary="${boundary}"`,
    'Content-Transfer-Encoding: 8bit',
    '',
    'This is a MIME-encapsulated message.',
    '',
    `--${boundary}`,
    'Content-Description: Notification',
    'Content-Type: text/plain; charset=utf-8',
    '',
    ...human,
    '',
    `--${boundary}`,
    'Content-Description: Delivery report',
    'Content-Type: message/delivery-status',
    '',
    ...perMessage,
    ...perRecipient.flat(),
    '',
    `--${boundary}`,
    `Content-Description: ${kind === 'failed' ? 'Undelivered Message' : 'Message Headers'}`,
    `Content-Type: ${includeBody ? 'message/rfc822' : 'text/rfc822-headers'}`,
    'Content-Transfer-Encoding: 8bit',
    '',
    '',
  ].join('\n');
  return { head, includeBody, tail: `\n--${boundary}--\n` };
}
