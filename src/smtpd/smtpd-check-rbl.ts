/*
 * smtpd-check-rbl - the DNS list restrictions of postconf(5):
 * reject_rbl_client (the client address, IPv4 octets or IPv6 nibbles
 * reversed), reject_rhsbl_client, _reverse_client, _helo, _sender and
 * _recipient (a name or an address's domain), permit_dnswl_client and
 * permit_rhswl_client, each with a list domain and an optional
 * "=d.d.d.d" reply filter whose octets may be "[n;n..m]" patterns. A
 * refusal's reply comes from rbl_reply_maps (by the argument as written)
 * or default_rbl_reply, expanded one level with the $rbl_* and
 * client/sender/recipient attributes, the TXT record as $rbl_reason. A
 * lookup that fails is "not listed" (logged as Postfix's "RBL lookup
 * error" warning); for an allow list it is DEFER_IF_REJECT. An allow list
 * is ignored where it would override reject_unauth_destination. Answers
 * are kept for the session (CheckRequest.dnsCache), and a run of DNS list
 * restrictions asks its lists at once. Used by smtpd-check-names.ts;
 * lookups through smtpd-check-dns.ts.
 */
import ipaddr from 'ipaddr.js';
import { splitAddress } from '../global/addr/addr-parts.js';
import { expandText } from '../global/config/config-expand.js';
import { PetrelError } from '../global/errors.js';
import type { CheckRun } from './smtpd-check.js';
import { subjectReply } from './smtpd-check-access.js';
import type { DnsAnswer } from './smtpd-check-dns.js';
import type { CheckReply, CheckRequest, Verdict } from './smtpd-check-types.js';
import { printable } from '../util/printable.js';

/** The DNS list restriction names, with what each looks up. */
const DNS_LISTS = {
  reject_rbl_client: 'address',
  permit_dnswl_client: 'address',
  reject_rhsbl_client: 'name',
  permit_rhswl_client: 'name',
  reject_rhsbl_reverse_client: 'reverse',
  reject_rhsbl_helo: 'helo',
  reject_rhsbl_sender: 'sender',
  reject_rhsbl_recipient: 'recipient',
} as const;

/** A DNS list restriction name. */
export type DnsListName = keyof typeof DNS_LISTS;

/** One octet of a reply filter: the inclusive ranges it accepts. */
type OctetPattern = readonly (readonly [number, number])[];

/** A DNS list step: its restriction, list domain and filter, and the DNS list step right after it in the same list (asked at the same time). */
export interface DnsListStep {
  readonly name: DnsListName;
  /** The argument as written ("zen.example=127.0.0.[2..11]"), the rbl_reply_maps key. */
  readonly arg: string;
  readonly domain: string;
  readonly filter: readonly OctetPattern[] | undefined;
  next: DnsListStep | undefined;
}

/** What a list is asked about: the name under the list domain, the entity ($rbl_what) and its class ($rbl_class). */
interface Target {
  readonly prefix: string;
  readonly what: string;
  readonly cls: string;
}

/** True for the restriction names that are DNS lists. */
export function isDnsList(name: string): name is DnsListName {
  return Object.hasOwn(DNS_LISTS, name);
}

function parseOctet(text: string): OctetPattern | undefined {
  const inner = /^\[(.*)\]$/.exec(text)?.[1] ?? text;
  const ranges: [number, number][] = [];
  for (const item of inner.split(';')) {
    const m = /^(\d{1,3})(?:\.\.(\d{1,3}))?$/.exec(item);
    if (m === null || (inner === text && m[2] !== undefined)) return undefined;
    const low = Number(m[1]);
    const high = Number(m[2] ?? m[1]);
    if (high > 255 || low > high) return undefined;
    ranges.push([low, high]);
  }
  return ranges;
}

/** Parses "domain[=d.d.d.d]"; a bad filter is a configuration error. */
export function parseDnsList(where: string, name: DnsListName, arg: string): DnsListStep {
  const at = arg.indexOf('=');
  const domain = (at < 0 ? arg : arg.slice(0, at)).toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(domain)) throw new PetrelError('config', `${where}: restriction "${name}" needs a DNS domain argument, not "${arg}"`);
  if (at < 0) return { name, arg, domain, filter: undefined, next: undefined };
  const m = /^(\d+|\[[^\]]*\])\.(\d+|\[[^\]]*\])\.(\d+|\[[^\]]*\])\.(\d+|\[[^\]]*\])$/.exec(arg.slice(at + 1));
  const filter = m?.slice(1).map((octet) => parseOctet(octet));
  if (filter === undefined || filter.some((octet) => octet === undefined)) throw new PetrelError('config', `${where}: ${name} ${arg}: bad reply filter (d.d.d.d, each d a number or [n;n..m])`);
  return { name, arg, domain, filter: filter as OctetPattern[], next: undefined };
}

/** The reversed address: IPv4 octets, or IPv6 nibbles. */
function reversedAddress(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return undefined;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  if (parsed.kind() === 'ipv4') return parsed.toByteArray().reverse().join('.');
  return parsed
    .toByteArray()
    .flatMap((byte) => [byte >> 4, byte & 15])
    .map((nibble) => nibble.toString(16))
    .reverse()
    .join('.');
}

/** A domain a right-hand-side list can be asked about: a host name, not an address literal. */
function listableName(name: string | undefined): string | undefined {
  const host = (name ?? '').toLowerCase().replace(/\.$/, '');
  // A name of digits and dots is an address (ipaddr.isValid would say so too, at the cost of two thrown parse errors a name).
  return /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(host) && !/^[\d.]+$/.test(host) ? host : undefined;
}

function addressTarget(address: string | undefined, cls: string): Target | undefined {
  if (address === undefined || address === '') return undefined;
  const prefix = listableName(splitAddress(address).domain);
  return prefix === undefined ? undefined : { prefix, what: address, cls };
}

function nameTarget(name: string, cls: string): Target | undefined {
  const prefix = name === 'unknown' ? undefined : listableName(name);
  return prefix === undefined ? undefined : { prefix, what: name, cls };
}

/** What step asks its list about for req, or undefined when req has nothing to ask (no HELO, the null sender, an unknown name). */
function target(step: DnsListStep, req: CheckRequest): Target | undefined {
  switch (DNS_LISTS[step.name]) {
    case 'address': {
      const prefix = reversedAddress(req.clientAddress);
      return prefix === undefined ? undefined : { prefix, what: req.clientAddress, cls: 'Client host' };
    }
    case 'name':
      return nameTarget(req.clientName, 'Client host');
    case 'reverse':
      return nameTarget(req.reverseName, 'Unverified Client host');
    case 'helo':
      return req.helo === undefined ? undefined : nameTarget(req.helo, 'Helo command');
    case 'sender':
      return addressTarget(req.sender, 'Sender address');
    case 'recipient':
      return addressTarget(req.recipient, 'Recipient address');
  }
}

/** One DNS question, asked once per session; a failure is logged once, as Postfix's warning. */
function ask(run: CheckRun, type: 'A' | 'TXT', query: string): Promise<DnsAnswer<string[]>> {
  const key = `${type} ${query}`;
  let answer = run.req.dnsCache.get(key);
  if (answer === undefined) {
    answer = (type === 'A' ? run.checks.dns.a(query) : run.checks.dns.txt(query)).then((found) => {
      if (found.status === 'temporary') run.warning(`${query}: RBL lookup error: Host or domain name not found. Name service error for name=${query} type=${type}: Host not found, try again`);
      return found;
    });
    run.req.dnsCache.set(key, answer);
  }
  return answer;
}

/** True when one of the A records passes the filter (any record without one). */
function listed(step: DnsListStep, records: readonly string[]): boolean {
  const filter = step.filter;
  if (filter === undefined) return records.length > 0;
  return records.some((record) => {
    const octets = record.split('.').map(Number);
    return filter.every((ranges, i) => ranges.some(([low, high]) => (octets[i] as number) >= low && (octets[i] as number) <= high));
  });
}

/** Looks step up for req, first asking the DNS list steps that follow it at the same time; the A answer. */
async function lookUp(run: CheckRun, step: DnsListStep, query: string): Promise<DnsAnswer<string[]>> {
  for (let later = step.next; later !== undefined; later = later.next) {
    const t = target(later, run.req);
    if (t !== undefined) void ask(run, 'A', `${t.prefix}.${later.domain}`);
  }
  return ask(run, 'A', query);
}

/** The local part and domain attributes of an address ("<>" for the null address). */
function addressAttributes(role: 'sender' | 'recipient', address: string | undefined): Record<string, string> {
  if (address === undefined) return { [role]: '', [`${role}_name`]: '', [`${role}_domain`]: '' };
  if (address === '') return { [role]: '<>', [`${role}_name`]: '<>', [`${role}_domain`]: '' };
  const { local, domain } = splitAddress(address);
  return { [role]: address, [`${role}_name`]: local, [`${role}_domain`]: domain ?? '' };
}

/** The refusal of a listed entity: the rbl_reply_maps or default_rbl_reply template, expanded and split into code, enhanced code and text. */
async function refusal(run: CheckRun, step: DnsListStep, t: Target, query: string): Promise<CheckReply> {
  const p = run.checks.params;
  const txt = await ask(run, 'TXT', query);
  // Control characters from the DNS never reach the reply or the log.
  const reason = txt.status === 'found' ? printable(txt.value.join(' / '), { utf8: true }) : '';
  const template = (await run.checks.rblReplies?.lookup(step.arg)) ?? p.default_rbl_reply;
  const req = run.req;
  const attributes: Record<string, string> = {
    client: `${req.clientName}[${req.clientAddress}]`,
    client_address: req.clientAddress,
    client_name: req.clientName,
    reverse_client_name: req.reverseName,
    helo_name: req.helo ?? '',
    rbl_class: t.cls,
    rbl_code: String(p.maps_rbl_reject_code),
    rbl_domain: step.domain,
    rbl_reason: reason,
    rbl_txt: reason,
    rbl_what: t.what,
    ...addressAttributes('sender', req.sender),
    ...addressAttributes('recipient', req.recipient),
  };
  // One level only: a $ inside a value (a TXT record's, say) stays as it is.
  const text = expandText(template, (name) => attributes[name]?.replaceAll('$', '$$$$') ?? '');
  const m = /^([45]\d\d)(?:[ -]([245]\.\d{1,3}\.\d{1,3}))?(?:\s+|$)(.*)$/s.exec(text);
  if (m === null) {
    run.warning(`${step.arg}: RBL reply "${text}" does not start with a 4xx or 5xx reply code`);
    return { code: 451, dsn: '4.3.5', text: 'Server configuration error' };
  }
  const code = m[1] as string;
  return { code: Number(code), dsn: `${code[0] as string}${(m[2] ?? '5.7.1').slice(1)}`, text: m[3] as string };
}

/** reject_rbl_client and the reject_rhsbl_* restrictions: the refusal when the list names the entity; a failed lookup is not a listing. */
export async function rejectListed(run: CheckRun, step: DnsListStep): Promise<Verdict> {
  const t = target(step, run.req);
  if (t === undefined) return undefined;
  const query = `${t.prefix}.${step.domain}`;
  const answer = await lookUp(run, step, query);
  if (answer.status !== 'found' || !listed(step, answer.value)) return undefined;
  return refusal(run, step, t, query);
}

/**
 * permit_dnswl_client and permit_rhswl_client: permit when the list names
 * the client, unless a recipient being checked is one this host would not
 * take (authDestination false): an allow list never overrides
 * reject_unauth_destination. A failed lookup defers what a later
 * restriction would reject (DEFER_IF_REJECT).
 */
export async function permitListed(run: CheckRun, step: DnsListStep, authDestination: (run: CheckRun) => Promise<boolean>): Promise<Verdict> {
  const t = target(step, run.req);
  if (t === undefined) return undefined;
  const answer = await lookUp(run, step, `${t.prefix}.${step.domain}`);
  if (answer.status === 'temporary') {
    run.deferIfReject(subjectReply({ name: run.req.clientAddress, what: 'Client host' }, 450, '4.7.1', 'Service unavailable'));
    return undefined;
  }
  if (answer.status !== 'found' || !listed(step, answer.value)) return undefined;
  if (run.req.command === 'RCPT' && run.req.recipient !== undefined && !(await authDestination(run))) return undefined;
  return 'permit';
}
