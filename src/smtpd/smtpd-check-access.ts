/*
 * smtpd-check-access - access(5) tables in restriction lists: the
 * check_*_access restrictions look up their key sequence (addresses: the
 * whole address, user@domain without the extension, the domain and its
 * parents per parent_domain_matches_subdomains, then user@; the null sender
 * as smtpd_null_access_lookup_key; clients: the name and its parents, then
 * the address and its shorter networks), and the first value found is
 * carried out as an action: OK, REJECT, DEFER, 4NN/5NN text,
 * DEFER_IF_PERMIT, DEFER_IF_REJECT, DUNNO, DISCARD, HOLD, REDIRECT, FILTER,
 * PREPEND, WARN, BCC, INFO, or a restriction name, list or class.
 * check_sasl_access looks up the SASL login name alone.
 * Used by smtpd-check-names.ts; follows access(5).
 */
import ipaddr from 'ipaddr.js';
import { findFirst } from '../global/addr/addr-find.js';
import { accessAddressKeysForIp, accessHostKeys, accessMailKeys, type SearchKey } from '../global/addr/addr-search-keys.js';
import { splitList } from '../global/config/param-convert.js';
import type { CheckRun } from './smtpd-check.js';
import type { ReplySubject, Verdict } from './smtpd-check-types.js';
import { printable } from '../util/printable.js';

/** A table lookup's outcome: an action's verdict, or DUNNO (found, no opinion, stop searching). */
type Found = Verdict | 'dunno';

/** An enhanced status code at the start of text, moved to the reply's class. */
function splitDsn(code: number, text: string, fallback: string): { dsn: string; text: string } {
  const m = /^([245])\.(\d{1,3}\.\d{1,3})(?:\s+|$)(.*)$/s.exec(text);
  const cls = String(code)[0] as string;
  if (m === null) return { dsn: `${cls}${fallback.slice(1)}`, text };
  return { dsn: `${cls}.${m[2] as string}`, text: m[3] as string };
}

/** A reply "<name>: What rejected: text" with code and enhanced code (its class following the code). */
export function subjectReply(subject: ReplySubject, code: number, dsn: string, text: string): Verdict {
  const split = splitDsn(code, text, dsn);
  return { code, dsn: split.dsn, text: `<${subject.name}>: ${subject.what} rejected: ${split.text}` };
}

/** Carries out the action value of an access table; okAllowed is false for the MX/NS/A tables, where OK is refused. */
export async function accessAction(run: CheckRun, value: string, subject: ReplySubject, okAllowed: boolean): Promise<Found> {
  const trimmed = value.trim();
  const m = /^(\S+)\s*(.*)$/s.exec(trimmed);
  const word = (m?.[1] ?? '').toUpperCase();
  const text = m?.[2] ?? '';
  const p = run.checks.params;
  const triggers = (action: string): string => `<${subject.name}>: ${subject.what} ${text === '' ? `triggers ${action} action` : text}`;
  if (word === 'OK' || /^\d+$/.test(trimmed)) {
    if (okAllowed) return 'permit';
    run.warning(`access table: OK is not allowed in a lookup of MX, NS or A hosts; using DUNNO`);
    return 'dunno';
  }
  if (/^[45]\d\d$/.test(word)) return subjectReply(subject, Number(word), word[0] === '4' ? '4.7.1' : '5.7.1', text);
  switch (word) {
    case 'REJECT':
      return subjectReply(subject, p.access_map_reject_code, '5.7.1', text === '' ? 'Access denied' : text);
    case 'DEFER':
      return subjectReply(subject, p.access_map_defer_code, '4.7.1', text === '' ? 'Access denied' : text);
    case 'DEFER_IF_PERMIT':
      run.deferIfPermit(subjectReply(subject, p.access_map_defer_code, '4.7.1', text === '' ? 'Service unavailable' : text));
      return 'dunno';
    case 'DEFER_IF_REJECT':
      run.deferIfReject(subjectReply(subject, p.access_map_defer_code, '4.7.1', text === '' ? 'Service unavailable' : text));
      return 'dunno';
    case 'DUNNO':
      return 'dunno';
    case 'DISCARD':
      run.req.actions.discard = true;
      run.event('discard', triggers('DISCARD'));
      return 'permit';
    case 'HOLD':
      run.req.actions.hold = true;
      run.event('hold', triggers('HOLD'));
      return 'dunno';
    case 'REDIRECT':
      run.req.actions.redirect = text;
      run.event('redirect', `<${subject.name}>: ${subject.what} triggers REDIRECT ${text}`);
      return 'dunno';
    case 'FILTER':
      run.req.actions.filter = text;
      run.event('filter', `<${subject.name}>: ${subject.what} triggers FILTER ${text}`);
      return 'dunno';
    case 'BCC':
      run.req.actions.bcc.push(text);
      run.event('bcc', `<${subject.name}>: ${subject.what} triggers BCC ${text}`);
      return 'dunno';
    case 'PREPEND':
      run.req.actions.prepend.push(text);
      return 'dunno';
    case 'WARN':
      run.event('warn', text);
      return 'dunno';
    case 'INFO':
      run.event('info', text);
      return 'dunno';
    default:
      return (await run.nested(splitList(trimmed))) ?? 'dunno';
  }
}

/** Looks keys up in the table named spec and carries out the first value found; undefined when none is found. */
async function lookupAndAct(run: CheckRun, spec: string, keys: readonly SearchKey[], subject: ReplySubject, okAllowed = true): Promise<Found> {
  const found = await findFirst(run.checks.accessTable(spec), keys);
  return found === undefined ? undefined : accessAction(run, found.value, subject, okAllowed);
}

function noDunno(found: Found): Verdict {
  return found === 'dunno' ? undefined : found;
}

/** The keys of an address: as access(5) says, or only the null key for the null sender. */
function mailKeys(run: CheckRun, address: string): SearchKey[] {
  const p = run.checks.params;
  return accessMailKeys(address.toLowerCase(), { delimiters: p.recipient_delimiter, parentMatchesSubdomains: run.checks.parentMatches, nullKey: p.smtpd_null_access_lookup_key });
}

/** check_sender_access / check_recipient_access. */
export async function mailAccess(run: CheckRun, spec: string, address: string, subject: ReplySubject): Promise<Verdict> {
  return noDunno(await lookupAndAct(run, spec, mailKeys(run, address), subject));
}

/**
 * check_sasl_access: the login name of an authenticated client as the one
 * key, as given (fixed-string tables fold case themselves, a regexp or pcre
 * table sees the name as the client sent it), with no parent domains and
 * no networks; replies name it with control characters shown as "_", as
 * Postfix's do. No opinion without AUTH.
 */
export async function saslAccess(run: CheckRun, spec: string): Promise<Verdict> {
  const login = run.req.saslUsername;
  if (login === undefined || login === '') return undefined;
  const subject = { name: printable(login, { utf8: true, replacement: '_' }), what: 'SASL login name' };
  return noDunno(await lookupAndAct(run, spec, [{ key: login, fixedOnly: false }], subject));
}

/** A host by name (and parents) then by address (and shorter networks): check_client_access and the MX/NS/A host checks. */
async function hostAccess(run: CheckRun, spec: string, name: string | undefined, address: string | undefined, subject: ReplySubject, okAllowed: boolean): Promise<Found> {
  if (name !== undefined && name !== 'unknown') {
    const found = await lookupAndAct(run, spec, accessHostKeys(name.toLowerCase(), { parentMatchesSubdomains: run.checks.parentMatches }), subject, okAllowed);
    if (found !== undefined && found !== 'dunno') return found;
  }
  if (address !== undefined && ipaddr.isValid(address)) return lookupAndAct(run, spec, accessAddressKeysForIp(address), subject, okAllowed);
  return undefined;
}

/** check_client_access (name, then address) and check_reverse_client_hostname_access (the PTR name). */
export async function clientAccess(run: CheckRun, spec: string, name: string, address: string | undefined, subject: ReplySubject): Promise<Verdict> {
  return noDunno(await hostAccess(run, spec, name, address, subject, true));
}

/** check_helo_access: the HELO name and its parents. */
export async function nameAccess(run: CheckRun, spec: string, name: string, subject: ReplySubject): Promise<Verdict> {
  return noDunno(await lookupAndAct(run, spec, accessHostKeys(name.toLowerCase(), { parentMatchesSubdomains: run.checks.parentMatches }), subject));
}

/**
 * check_*_mx_access, check_*_ns_access, check_*_a_access: each host (or
 * each address, for "a") the DNS gives for domain is looked up by name and
 * by its addresses; OK is not allowed. No answer from the DNS is no opinion.
 */
export async function serverAccess(run: CheckRun, spec: string, domain: string, kind: 'mx' | 'ns' | 'a', subject: ReplySubject): Promise<Verdict> {
  const dns = run.checks.dns;
  if (domain === '' || domain.startsWith('[')) return undefined;
  if (kind === 'a') {
    const addresses = await dns.addresses(domain);
    if (addresses.status !== 'found') return undefined;
    for (const address of addresses.value) {
      const found = await hostAccess(run, spec, undefined, address, subject, false);
      if (found !== undefined && found !== 'dunno') return found;
    }
    return undefined;
  }
  const hosts = kind === 'mx' ? await dns.mxHosts(domain) : await dns.nsHosts(domain);
  // A domain without MX records receives mail at its own address.
  const names = hosts.status === 'found' ? hosts.value : kind === 'mx' && hosts.status === 'none' ? [domain] : [];
  for (const host of names) {
    const byName = await hostAccess(run, spec, host, undefined, subject, false);
    if (byName !== undefined && byName !== 'dunno') return byName;
    const addresses = await dns.addresses(host);
    for (const address of addresses.status === 'found' ? addresses.value : []) {
      const found = await hostAccess(run, spec, undefined, address, subject, false);
      if (found !== undefined && found !== 'dunno') return found;
    }
  }
  return undefined;
}
