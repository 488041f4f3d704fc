/*
 * smtpd-commands - the SMTP commands smtpd serves, dispatched through one
 * table: HELO, EHLO (the extensions on offer, less smtpd_discard_ehlo_keywords),
 * MAIL, RCPT, DATA, BDAT (RFC 3030 CHUNKING), RSET, NOOP, VRFY, ETRN, QUIT, and
 * STARTTLS, AUTH, XCLIENT and XFORWARD from smtpd-tls.ts, smtpd-auth.ts and
 * smtpd-xclient.ts. The replies,
 * their enhanced status codes and the order rules are Postfix's (smtpd(8));
 * at smtpd_tls_security_level = encrypt only EHLO, HELO, STARTTLS, NOOP,
 * RSET and QUIT are served before TLS.
 */
import { findFirst } from '../global/addr/addr-find.js';
import { accessAddressKeysForIp } from '../global/addr/addr-search-keys.js';
import { splitList } from '../global/config/param-convert.js';
import { PetrelError } from '../global/errors.js';
import { msg } from '../util/msg.js';
import { commandRefused } from './smtpd-anvil.js';
import { handleAuth, authOffered } from './smtpd-auth.js';
import { DotDecoder } from './smtpd-dot-decoder.js';
import { checkMailParams, checkRcptParams, parsePathArgument } from './smtpd-envelope.js';
import { SessionEnd, type SmtpdSession } from './smtpd-session.js';
import { handleStarttls, starttlsOffered } from './smtpd-tls.js';
import { Transaction } from './smtpd-transaction.js';
import { handleXclient, handleXforward, xclientKeywords } from './smtpd-xclient.js';
import { LineEndingNormalizer } from '../util/line-endings.js';
import { checkRecipient, checkStages, unlistedSender } from './smtpd-check.js';
import { noActions, type CheckReply } from './smtpd-check-types.js';

/** A command's handler: it queues its reply; throwing SessionEnd closes the session after it. */
export type CommandHandler = (s: SmtpdSession, arg: string) => Promise<void> | void;


/** Sends a restriction's refusal; 421 and 521 (access(5)) also end the session, as in Postfix. */
function refuse(s: SmtpdSession, reply: CheckReply): void {
  s.reply(reply.code, `${reply.dsn} ${reply.text}`);
  if (reply.code === 421 || reply.code === 521) throw new SessionEnd(`${reply.code} disconnect`);
}

/** Commands served before TLS when TLS is required. */
const BEFORE_TLS = new Set(['EHLO', 'HELO', 'STARTTLS', 'NOOP', 'RSET', 'QUIT']);

/** smtpd_discard_ehlo_keywords, and the words smtpd_discard_ehlo_keyword_address_maps gives for this client. */
async function discardedKeywords(s: SmtpdSession): Promise<Set<string>> {
  const words = [...s.params.smtpd_discard_ehlo_keywords];
  const maps = s.services.checks.ehloKeywordMaps;
  if (maps !== undefined) {
    const found = await findFirst(maps, accessAddressKeysForIp(s.client.address));
    if (found !== undefined) words.push(...splitList(found.value));
  }
  return new Set(words.map((w) => w.toUpperCase()));
}

async function ehloKeywords(s: SmtpdSession): Promise<string[]> {
  const p = s.params;
  const keywords = ['PIPELINING', p.message_size_limit > 0 ? `SIZE ${p.message_size_limit}` : 'SIZE'];
  if (!p.disable_vrfy_command) keywords.push('VRFY');
  if (starttlsOffered(s)) keywords.push('STARTTLS');
  const mechanisms = await authOffered(s);
  if (mechanisms.length > 0) {
    keywords.push(`AUTH ${mechanisms.join(' ')}`);
    if (p.broken_sasl_auth_clients) keywords.push(`AUTH=${mechanisms.join(' ')}`);
  }
  keywords.push(...xclientKeywords(s), 'ENHANCEDSTATUSCODES', '8BITMIME', 'DSN');
  if (p.smtputf8_enable) keywords.push('SMTPUTF8');
  keywords.push('CHUNKING');
  const discarded = await discardedKeywords(s);
  const kept = keywords.filter((k) => !discarded.has((k.split(/[ =]/)[0] as string).toUpperCase()));
  if (kept.length < keywords.length && !discarded.has('SILENT-DISCARD')) {
    msg.info(`discarding EHLO keywords: ${keywords.filter((k) => !kept.includes(k)).map((k) => k.split(/[ =]/)[0]).join(' ')}`);
  }
  return kept;
}

async function helo(s: SmtpdSession, arg: string, esmtp: boolean): Promise<void> {
  const name = arg.trim();
  if (name === '') {
    s.reply(501, `Syntax: ${esmtp ? 'EHLO' : 'HELO'} hostname`);
    return;
  }
  s.transaction?.abort();
  s.transaction = undefined;
  s.helo = name;
  s.esmtp = esmtp;
  if (!s.params.smtpd_delay_reject && !s.services.local) {
    const refused = await checkStages(s.services.checks, s.checkRequest(esmtp ? 'EHLO' : 'HELO'), ['helo']);
    if (refused !== undefined) {
      s.helo = undefined;
      return refuse(s, refused);
    }
  }
  if (esmtp) s.reply(250, [s.params.myhostname, ...(await ehloKeywords(s))]);
  else s.reply(250, s.params.myhostname);
}

async function mail(s: SmtpdSession, arg: string): Promise<void> {
  if (s.helo === undefined && s.params.smtpd_helo_required) return s.reply(503, '5.5.1 Error: send HELO/EHLO first');
  if (s.transaction !== undefined) return s.reply(503, '5.5.1 Error: nested MAIL command');
  if (await commandRefused(s, 'message')) return;
  const parsed = parsePathArgument(arg, 'FROM', s.params.strict_rfc821_envelopes);
  if ('code' in parsed) return s.reply(parsed.code, parsed.text);
  const refused = s.esmtp || parsed.params.size === 0 ? checkMailParams(parsed.params, parsed.address, { sizeLimit: s.params.message_size_limit, smtputf8: s.params.smtputf8_enable }) : { code: 555, text: '5.5.4 Unsupported option: ESMTP parameters need EHLO' };
  if (refused !== undefined) return s.reply(refused.code, refused.text);
  if (!s.services.checks.enoughSpace()) {
    msg.info(`NOQUEUE: reject: MAIL from ${s.peer}: 452 4.3.1 Insufficient system storage; from=<${parsed.address}> proto=${s.protocol} helo=<${s.helo}>`);
    return s.reply(452, '4.3.1 Insufficient system storage');
  }
  s.transaction = new Transaction(s, parsed.address, parsed.params);
  if (!s.params.smtpd_delay_reject && !s.services.local) {
    const refused = await checkStages(s.services.checks, s.checkRequest('MAIL'), ['sender'], () => unlistedSender(s.services.checks, parsed.address));
    if (refused !== undefined) {
      s.transaction = undefined;
      return refuse(s, refused);
    }
  }
  s.reply(250, '2.1.0 Ok');
}

async function rcpt(s: SmtpdSession, arg: string): Promise<void> {
  const t = s.transaction;
  if (t === undefined) return s.reply(503, '5.5.1 Error: need MAIL command');
  if (await commandRefused(s, 'recipient')) return;
  t.rcptTried++;
  const parsed = parsePathArgument(arg, 'TO', s.params.strict_rfc821_envelopes);
  if ('code' in parsed) return s.reply(parsed.code, parsed.text);
  if (parsed.address === '') return s.reply(501, '5.1.3 Bad recipient address syntax');
  const refused = checkRcptParams(parsed.params, parsed.address, t.mailParams.has('SMTPUTF8'));
  if (refused !== undefined) return s.reply(refused.code, refused.text);
  const limit = s.params.smtpd_recipient_limit;
  if (limit > 0 && t.recipients.length >= limit) return s.reply(452, '4.5.3 Error: too many recipients');
  try {
    await checkedRecipient(s, t, parsed.address, parsed.params);
  } catch (err) {
    // A table that cannot answer (a database down): the client tries again later, the session goes on.
    if (!(err instanceof PetrelError) || !err.temporary) throw err;
    msg.warn(`${s.peer}: RCPT <${parsed.address}>: ${err.message}`);
    // The restrictions log their own refusals; this is a table behind the recipient's rewriting.
    msg.info(`NOQUEUE: reject: RCPT from ${s.peer}: 451 4.3.0 <${parsed.address}>: Temporary lookup failure; from=<${t.sender}> to=<${parsed.address}> proto=${s.protocol} helo=<${s.helo ?? ''}>`);
    s.reply(451, `4.3.0 <${parsed.address}>: Temporary lookup failure`);
  }
}

/** The recipient restrictions and the recipient's rewriting; replies. Throws a temporary PetrelError when a table cannot answer. */
async function checkedRecipient(s: SmtpdSession, t: Transaction, address: string, params: ReadonlyMap<string, string>): Promise<void> {
  const checks = s.services.checks;
  const reject = s.services.local ? undefined : await checkRecipient(checks, s.checkRequest('RCPT', address));
  if (reject !== undefined) return refuse(s, reject);
  const failed = await t.addRecipient(address, checks.resolver.rewrite(address), params);
  if (failed !== undefined) return s.reply(failed.code, failed.text);
  s.reply(250, '2.1.5 Ok');
}

/** The checks before content: a transaction with recipients, smtpd_data_restrictions; the transaction or undefined (replied). */
async function contentAllowed(s: SmtpdSession, command: string): Promise<Transaction | undefined> {
  const t = s.transaction;
  if (t === undefined) {
    s.reply(503, '5.5.1 Error: need RCPT command');
    return undefined;
  }
  if (t.recipients.length === 0) {
    s.reply(t.rcptTried > 0 ? 554 : 503, t.rcptTried > 0 ? '5.5.1 Error: no valid recipients' : '5.5.1 Error: need RCPT command');
    return undefined;
  }
  const refused = s.services.local ? undefined : await checkStages(s.services.checks, s.checkRequest(command, t.recipients.length === 1 ? t.recipients[0] : undefined), ['data']);
  if (refused !== undefined) {
    refuse(s, refused);
    endTransaction(s);
    return undefined;
  }
  return t;
}

/** Abandons the transaction and what access tables asked of its message. */
function endTransaction(s: SmtpdSession): void {
  s.transaction?.abort();
  s.transaction = undefined;
  s.actions = noActions();
}

async function finishMessage(s: SmtpdSession, t: Transaction): Promise<void> {
  const refused = s.services.local ? undefined : await checkStages(s.services.checks, s.checkRequest('END-OF-MESSAGE', t.recipients.length === 1 ? t.recipients[0] : undefined), ['end_of_data']);
  s.forwarded = undefined;
  s.chat.checkpoint();
  if (refused !== undefined) {
    endTransaction(s);
    return refuse(s, refused);
  }
  s.transaction = undefined;
  const verdict = await t.finish(s.actions);
  s.actions = noActions();
  if (verdict.code === 250) s.delivered();
  s.reply(verdict.code, verdict.text);
}

async function data(s: SmtpdSession, arg: string): Promise<void> {
  if (arg.trim() !== '') return s.reply(501, '5.5.4 Syntax: DATA');
  if (s.chunking) return s.reply(503, '5.5.1 Error: DATA after BDAT');
  const t = await contentAllowed(s, 'DATA');
  if (t === undefined) return;
  s.reply(354, 'End data with <CR><LF>.<CR><LF>');
  t.begin(s.actions.prepend);
  const decoder = new DotDecoder(s.bareNewline, (chunk) => t.write(chunk));
  const end = await s.input.data(decoder);
  if (end !== undefined) {
    t.abort();
    s.transaction = undefined;
    s.ended(end);
    throw new SessionEnd(end);
  }
  if (decoder.bareLf && s.bareNewline === 'reject') {
    t.abort();
    s.transaction = undefined;
    s.bareLfRefused();
  }
  await finishMessage(s, t);
}

async function bdat(s: SmtpdSession, arg: string): Promise<void> {
  const m = /^(\d{1,15})(?:[ \t]+(LAST))?[ \t]*$/i.exec(arg.trim());
  if (m === null) {
    // The chunk's size is unknown, so nothing after this command can be read as a command: end the session.
    s.reply(501, '5.5.4 Syntax: BDAT count [LAST]');
    throw new SessionEnd('bad BDAT');
  }
  const size = Number(m[1]);
  const last = m[2] !== undefined;
  const t = s.chunking ? s.transaction : await contentAllowed(s, 'BDAT');
  if (t === undefined) {
    // The chunk still comes; it is read and thrown away so that the session stays in step.
    const end = await s.input.exact(size, () => undefined);
    if (end !== undefined) throw new SessionEnd(end);
    return;
  }
  if (!s.chunking) {
    s.chunking = new LineEndingNormalizer();
    t.begin(s.actions.prepend);
  }
  const normalizer = s.chunking;
  const end = await s.input.exact(size, (chunk) => t.write(normalizer.write(chunk)));
  if (end !== undefined) {
    t.abort();
    s.transaction = undefined;
    s.chunking = undefined;
    s.ended(end);
    throw new SessionEnd(end);
  }
  if (!last) {
    s.reply(250, `2.0.0 Ok: ${size} bytes`);
    return;
  }
  t.write(normalizer.end());
  s.chunking = undefined;
  await finishMessage(s, t);
}

function rset(s: SmtpdSession): void {
  endTransaction(s);
  s.forwarded = undefined;
  s.chunking = undefined;
  s.junkCommand();
  s.reply(250, '2.0.0 Ok');
}

function vrfy(s: SmtpdSession, arg: string): void {
  s.junkCommand();
  if (s.params.disable_vrfy_command) return s.reply(502, '5.5.1 VRFY command is disabled');
  if (arg.trim() === '') return s.reply(501, '5.5.4 Syntax: VRFY address');
  s.reply(252, `2.0.0 ${arg.trim()}`);
}

/**
 * ETRN (RFC 1985): the ETRN restrictions (with smtpd_delay_reject, the
 * client and HELO ones first), then Postfix's answer for a domain outside
 * fast_flush_domains, which Petrel does not keep (no fast flush service):
 * "459 <domain>: service unavailable". Postfix's ETRN replies carry no
 * enhanced status code.
 */
async function etrn(s: SmtpdSession, arg: string): Promise<void> {
  s.junkCommand();
  if (s.transaction !== undefined) return s.reply(503, 'Error: MAIL transaction in progress');
  const domain = arg.trim().replace(/^@/, '');
  if (domain === '') return s.reply(500, 'Syntax: ETRN domain');
  if (!s.services.local) {
    const stages = s.params.smtpd_delay_reject ? (['client', 'helo', 'etrn'] as const) : (['etrn'] as const);
    const refused = await checkStages(s.services.checks, s.checkRequest('ETRN', undefined, { etrnDomain: domain }), stages);
    if (refused !== undefined) return refuse(s, refused);
  }
  s.reply(459, `<${domain}>: service unavailable`);
}

/** Every command by name. */
export const COMMANDS: Readonly<Record<string, CommandHandler>> = {
  HELO: (s, arg) => helo(s, arg, false),
  EHLO: (s, arg) => helo(s, arg, true),
  MAIL: mail,
  RCPT: rcpt,
  DATA: data,
  BDAT: bdat,
  RSET: rset,
  NOOP: (s) => {
    s.junkCommand();
    s.reply(250, '2.0.0 Ok');
  },
  VRFY: vrfy,
  ETRN: etrn,
  QUIT: (s) => {
    s.reply(221, '2.0.0 Bye');
    throw new SessionEnd('quit');
  },
  STARTTLS: handleStarttls,
  AUTH: handleAuth,
  XCLIENT: handleXclient,
  XFORWARD: handleXforward,
};

/** Whether a command may run now (the client not refused at connect, TLS required first), replying when it may not. */
export function commandAllowed(s: SmtpdSession, name: string): boolean {
  if (s.denied !== undefined && name !== 'QUIT') {
    s.reply(503, `5.7.0 Error: access denied for ${s.peer}`);
    return false;
  }
  if (s.tls !== undefined || s.services.tls?.level !== 'encrypt' || BEFORE_TLS.has(name)) return true;
  s.reply(530, '5.7.0 Must issue a STARTTLS command first');
  return false;
}
