/*
 * smtpd-check - the restriction engine of smtpd(8), as Postfix's
 * smtpd_check(3): the lists smtpd_client, _helo, _sender, _relay,
 * _recipient, _data, _end_of_data and _etrn_restrictions, evaluated at
 * their stage (with smtpd_delay_reject = yes the client, HELO and sender
 * lists wait for RCPT TO, as Postfix does); each restriction answers permit,
 * a reply or no opinion; warn_if_reject, defer_if_permit and
 * defer_if_reject change what a later answer does; restriction classes
 * (smtpd_restriction_classes) run as nested lists; the implicit
 * smtpd_reject_unlisted_sender / _recipient checks close the sender and
 * recipient stages; every refusal, warning and message action is logged in
 * Postfix's words ("NOQUEUE: reject: RCPT from name[addr]: 554 5.7.1 ...;
 * from=<...> to=<...> proto=ESMTP helo=<...>"). A table that cannot answer
 * makes the reply 451 4.3.0 "Temporary lookup failure". The restrictions
 * themselves are in smtpd-check-names.ts; the process-wide state (networks,
 * tables, DNS) in smtpd-check-config.ts. Called by smtpd-commands.ts.
 */
import { isTemporary } from '../global/errors.js';
import { msg } from '../util/msg.js';
import type { SmtpdChecks } from './smtpd-check-config.js';
import type { ParsedStep } from './smtpd-check-names.js';
import type { CheckReply, CheckRequest, ReplySubject, Stage, Verdict } from './smtpd-check-types.js';
import { softBounceCodes } from '../global/soft-bounce.js';

/** How many restriction classes may nest before the engine stops (a class naming itself). */
const MAX_NESTING = 100;

/** The name and class a stage's generic replies speak of. */
export function stageSubject(stage: Stage, req: CheckRequest): ReplySubject {
  switch (stage) {
    case 'client':
      return { name: `${req.clientName}[${req.clientAddress}]`, what: 'Client host' };
    case 'helo':
      return { name: req.helo ?? '', what: 'Helo command' };
    case 'sender':
      return { name: req.sender ?? '', what: 'Sender address' };
    case 'relay':
    case 'recipient':
      return { name: req.recipient ?? '', what: 'Recipient address' };
    case 'data':
      return { name: 'DATA', what: 'Data command' };
    case 'end_of_data':
      return { name: 'END-OF-MESSAGE', what: 'End-of-data' };
    case 'etrn':
      return { name: req.etrnDomain ?? '', what: 'Etrn command' };
  }
}

/** Logs "ID: kind: COMMAND from name[addr]: text; from=<s> to=<r> proto=P helo=<h>", Postfix's log_whatsup. */
export function logWhatsup(req: CheckRequest, kind: string, text: string): void {
  let line = `${req.queueId ?? 'NOQUEUE'}: ${kind}: ${req.command} from ${req.clientName}[${req.clientAddress}]: ${text};`;
  if (req.sender !== undefined) line += ` from=<${req.sender}>`;
  if (req.recipient !== undefined) line += ` to=<${req.recipient}>`;
  line += ` proto=${req.protocol}`;
  if (req.helo !== undefined) line += ` helo=<${req.helo}>`;
  msg.info(line);
}

/** One evaluation of the lists of a stage: the state warn_if_reject, defer_if_permit and defer_if_reject keep. */
export class CheckRun {
  subject: ReplySubject;
  private warnNext = false;
  private deferredIfPermit: CheckReply | undefined;
  private deferredIfReject: CheckReply | undefined;
  private depth = 0;

  constructor(
    readonly checks: SmtpdChecks,
    readonly req: CheckRequest,
  ) {
    this.subject = stageSubject('client', req);
  }

  /** Logs a message action or WARN/INFO result. */
  event(kind: 'discard' | 'hold' | 'filter' | 'redirect' | 'bcc' | 'warn' | 'info', text: string): void {
    logWhatsup(this.req, kind, text);
  }

  /** A configuration warning during evaluation. */
  warning(text: string): void {
    msg.warn(text);
  }

  /** warn_if_reject: the next restriction's refusal is only logged. */
  warnIfReject(): void {
    this.warnNext = true;
  }

  /** defer_if_permit: a later permit (explicit or at the end) becomes this deferral. */
  deferIfPermit(reply: Verdict): void {
    if (reply !== undefined && reply !== 'permit') this.deferredIfPermit ??= reply;
  }

  /** defer_if_reject: a later refusal becomes this deferral. */
  deferIfReject(reply: Verdict): void {
    if (reply !== undefined && reply !== 'permit') this.deferredIfReject ??= reply;
  }

  /** Runs a list of steps; the first permit or reply ends it. */
  async list(steps: readonly ParsedStep[]): Promise<Verdict> {
    for (const step of steps) {
      const warn = this.warnNext;
      this.warnNext = false;
      const verdict = await step.run(this, step.table);
      if (verdict === undefined) continue;
      if (verdict !== 'permit' && warn) {
        logWhatsup(this.req, 'reject_warning', replyText(this.checks, verdict));
        continue;
      }
      return verdict;
    }
    return undefined;
  }

  /** Runs a restriction list named in an access table or a class; a nesting loop is a configuration error, answered as a temporary failure. */
  async nested(names: readonly string[]): Promise<Verdict> {
    if (this.depth >= MAX_NESTING) throw new Error(`restriction class nesting deeper than ${MAX_NESTING}: ${names.join(' ')}`);
    this.depth++;
    try {
      return await this.list(this.checks.parseSteps('access table result', names));
    } finally {
      this.depth--;
    }
  }

  /** The reply after a refusal: defer_if_reject turns a 5xx into its deferral. */
  private refusal(reply: CheckReply): CheckReply {
    if (this.deferredIfReject === undefined || reply.code < 500) return reply;
    return this.deferredIfReject;
  }

  /** Evaluates lists in order (a permit ends only its own list); the reply refusing the request, or undefined. */
  async stages(stages: readonly Stage[], after?: () => Promise<CheckReply | undefined>): Promise<CheckReply | undefined> {
    for (const stage of stages) {
      this.subject = stageSubject(stage, this.req);
      const verdict = await this.list(this.checks.lists[stage]);
      if (verdict !== undefined && verdict !== 'permit') return this.refusal(verdict);
    }
    const late = after === undefined ? undefined : await after();
    if (late !== undefined) return this.refusal(late);
    return this.deferredIfPermit;
  }
}

/** Evaluates stages for req, logging a refusal as "reject"; a table that cannot answer is 451 4.3.0. */
export async function checkStages(checks: SmtpdChecks, req: CheckRequest, stages: readonly Stage[], after?: (run: CheckRun) => Promise<CheckReply | undefined>): Promise<CheckReply | undefined> {
  // Once DISCARD was asked, the message goes nowhere: nothing more is checked (as in Postfix).
  if (req.actions.discard) return undefined;
  const run = new CheckRun(checks, req);
  let reply: CheckReply | undefined;
  try {
    reply = await run.stages(stages, after === undefined ? undefined : () => after(run));
  } catch (err) {
    if (!isTemporary(err)) throw err;
    msg.warn(`${req.clientName}[${req.clientAddress}]: ${req.command}: ${(err as Error).message}`);
    reply = { code: 451, dsn: '4.3.0', text: `<${run.subject.name}>: Temporary lookup failure` };
  }
  if (reply === undefined) return undefined;
  // soft_bounce: the 4xx goes out and is logged (as Postfix logs what the client gets).
  const sent = { ...reply, ...softBounceCodes(reply.code, reply.dsn, checks.params.soft_bounce) };
  logWhatsup(req, 'reject', `${sent.code} ${sent.dsn} ${sent.text}`);
  return sent;
}

/** A refusal as a reject_warning line quotes it, its codes as soft_bounce would send them. */
function replyText(checks: SmtpdChecks, reply: CheckReply): string {
  const { code, dsn } = softBounceCodes(reply.code, reply.dsn, checks.params.soft_bounce);
  return `${code} ${dsn} ${reply.text}`;
}

/** The lists RCPT TO evaluates: with smtpd_delay_reject the client, HELO and sender ones too. */
const RCPT_STAGES: readonly Stage[] = ['client', 'helo', 'sender', 'relay', 'recipient'];

/** smtpd_reject_unlisted_sender: the sender's refusal when the tables of its address class do not list it. */
export function unlistedSender(checks: SmtpdChecks, sender: string): Promise<CheckReply | undefined> {
  if (!checks.params.smtpd_reject_unlisted_sender || sender === '') return Promise.resolve(undefined);
  return checks.unlisted(sender, 'sender');
}

/** The restrictions of RCPT TO, then the implicit unlisted sender and recipient checks; the refusal (logged) or undefined. */
export function checkRecipient(checks: SmtpdChecks, req: CheckRequest): Promise<CheckReply | undefined> {
  const p = checks.params;
  const recipient = req.recipient ?? '';
  return checkStages(checks, req, p.smtpd_delay_reject ? RCPT_STAGES : ['relay', 'recipient'], async () => {
    const sender = p.smtpd_delay_reject ? await unlistedSender(checks, req.sender ?? '') : undefined;
    if (sender !== undefined) return sender;
    return p.smtpd_reject_unlisted_recipient ? checks.unlisted(recipient, 'recipient') : undefined;
  });
}
