/*
 * smtpd-chat - the session transcript smtpd keeps and the postmaster notice
 * it sends from it, as Postfix's smtpd does for notify_classes resource
 * (a queue file could not be written, no room on the disk), software (an
 * internal error), policy (a command refused by a restriction), protocol
 * (a command out of sequence, unknown or malformed) and bounce (an address
 * refused, such as an unknown local user): when a reply
 * of a listed class went out during the session, error_notice_recipient
 * gets "Transcript of session follows." with the commands and replies
 * (the last TRANSCRIPT_LINES of them; the history is also cut at EHLO, RSET
 * and the end of a message once it is longer than
 * smtpd_history_flush_threshold), from the double-bounce sender, once
 * the client is gone.
 */
import { doubleBounceAddress } from '../global/bounce-clnt.js';
import { postNotice } from '../global/cleanup-clnt.js';
import type { Params } from '../global/params/param-registry.js';
import { msg } from '../util/msg.js';

/** The notify_classes an smtpd reply can belong to. */
export type ChatErrorClass = 'bounce' | 'resource' | 'software' | 'policy' | 'protocol';

/** The most transcript lines kept: a long session keeps its latest ones. */
const TRANSCRIPT_LINES = 200;

/** The class of a reply by its code and text (with its enhanced code first), or undefined for one that is no error of interest. */
export function replyClass(code: number, text: string): ChatErrorClass | undefined {
  if (code < 400) return undefined;
  const enhanced = /^([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(text);
  const subject = enhanced?.[2];
  if (subject === '3') return /internal|software|configuration/i.test(text) ? 'software' : 'resource';
  if (code >= 500 && code <= 504) return 'protocol';
  if (subject === '5') return 'protocol';
  if (subject === '7') return 'policy';
  // A recipient or sender address refused (unknown user ...): Postfix counts that rejection as a bounce.
  if (subject === '1') return 'bounce';
  return undefined;
}

/** One session's commands and replies, and which error classes its replies showed. */
export class SmtpChat {
  private lines: string[] = [];
  readonly errors = new Set<ChatErrorClass>();

  /** @param flushThreshold smtpd_history_flush_threshold */
  constructor(private readonly flushThreshold = 100) {}

  /** At EHLO, RSET and the end of a message: a history longer than the threshold starts again. */
  checkpoint(): void {
    if (this.lines.length > this.flushThreshold) this.lines = [];
  }

  /** A command from the client (AUTH data never written down). */
  command(line: string): void {
    this.add(/^auth\b/i.test(line) ? ` In:  ${line.split(/\s+/).slice(0, 2).join(' ')} ...` : ` In:  ${line}`);
  }

  /** A reply to the client, one line per line. */
  reply(code: number, lines: readonly string[]): void {
    lines.forEach((text, i) => this.add(` Out: ${code}${i < lines.length - 1 ? '-' : ' '}${text}`));
    const found = replyClass(code, lines[lines.length - 1] ?? '');
    if (found !== undefined) this.errors.add(found);
  }

  /** The transcript as Postfix words it. */
  transcript(): string {
    return `Transcript of session follows.\n\n${this.lines.join('\n')}\n`;
  }

  private add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > 2 * TRANSCRIPT_LINES) this.lines = this.lines.slice(-TRANSCRIPT_LINES);
  }
}

/** Sends the postmaster the transcript when the session had an error of a class notify_classes lists. */
export async function notifyPostmaster(params: Params, chat: SmtpChat, client: string): Promise<void> {
  const classes = [...chat.errors].filter((c) => params.notify_classes.includes(c));
  if (classes.length === 0) return;
  const to = params.error_notice_recipient;
  const head = [
    `From: MAILER-DAEMON@${params.myhostname} (Mail Delivery System)`,
    `To: ${to} (Postmaster)`,
    `Subject: ${params.mail_name} SMTP server: errors from ${client}`,
    'Auto-Submitted: auto-generated',
    '',
    `Classes: ${classes.join(', ')}`,
    `Client: ${client}`,
    '',
  ].join('\n');
  const id = await postNotice(params, doubleBounceAddress(params), to, [Buffer.from(`${head}\n${chat.transcript()}`, 'utf8')]);
  msg.info(`${id}: postmaster notice of SMTP server errors (${classes.join(', ')}) from ${client}`);
}
