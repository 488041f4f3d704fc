/*
 * smtpd-check-names - the typed table of every restriction name smtpd
 * knows (postconf(5), access(5)) and the parser that turns a restriction
 * list into steps at start-up: a name, a check_*_access name with its
 * table, a DNS list with its domain (smtpd-check-rbl.ts),
 * check_policy_service with its service (smtpd-check-policy.ts), or a
 * restriction class. An unknown name, a missing table, list domain or
 * service, or a restriction Postfix has and Petrel does not implement yet
 * is a configuration error, never ignored. The
 * generic restrictions reply about the list's subject; the others about
 * what they check. Used by smtpd-check-config.ts and smtpd-check.ts.
 */
import { networkInterfaces } from 'node:os';
import { splitAddress } from '../global/addr/addr-parts.js';
import { PetrelError } from '../global/errors.js';
import { mailAccess, clientAccess, nameAccess, saslAccess, serverAccess, subjectReply } from './smtpd-check-access.js';
import type { CheckRun } from './smtpd-check.js';
import { stageSubject } from './smtpd-check.js';
import type { CheckReply, ReplySubject, Verdict } from './smtpd-check-types.js';
import { senderLoginMismatch } from './smtpd-check-login.js';
import { isDnsList, parseDnsList, permitListed, rejectListed, type DnsListStep } from './smtpd-check-rbl.js';
import { unverifiedAddress } from './smtpd-check-verify.js';
import { checkPolicyService } from './smtpd-check-policy.js';

/** A restriction: it answers permit, a reply or no opinion; table is the access table of a check_*_access (for a DNS list, its argument; for check_policy_service, its service). */
type Restriction = (run: CheckRun, table: string) => Promise<Verdict>;

/** One parsed step of a list. */
export interface ParsedStep {
  readonly name: string;
  readonly table: string;
  readonly run: Restriction;
}

const client = (run: CheckRun): ReplySubject => stageSubject('client', run.req);
const helo = (run: CheckRun): ReplySubject => stageSubject('helo', run.req);
const sender = (run: CheckRun): ReplySubject => stageSubject('sender', run.req);
const recipient = (run: CheckRun): ReplySubject => stageSubject('recipient', run.req);

/** The domain of an address, lower case, or "" when it has none. */
function domainOf(address: string | undefined): string {
  return (splitAddress(address ?? '').domain ?? '').toLowerCase();
}

/** A host name as RFC 1035 allows it (letters, digits, hyphens, dots; labels up to 63), or an address literal. */
function validHostname(name: string): boolean {
  if (/^\[(IPv6:[0-9a-f:.]+|\d{1,3}(\.\d{1,3}){3})\]$/i.test(name)) return true;
  const host = name.replace(/\.$/, '');
  if (host.length === 0 || host.length > 255) return false;
  if (/^[\d.]+$/.test(host)) return /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
  return host.split('.').every((label) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i.test(label));
}

/** A fully-qualified name: an address literal, or a name with a dot inside. */
function fqdn(name: string): boolean {
  return name.startsWith('[') || /^[^.]+(\.[^.]+)+\.?$/.test(name);
}

async function unauthDestination(run: CheckRun, code: number, dsn: string): Promise<Verdict> {
  if (run.req.recipient === undefined) return undefined;
  if (await authDestination(run)) return undefined;
  return { code, dsn, text: `<${run.req.recipient}>: Relay access denied` };
}

/** True when the recipient is mail this host takes (local, virtual or relay_domains), with no sender-specified routing from an untrusted client. */
async function authDestination(run: CheckRun): Promise<boolean> {
  const address = run.req.recipient ?? '';
  const { local } = splitAddress(address);
  if (!run.checks.params.allow_untrusted_routing && /[@%!]/.test(local)) return false;
  const resolution = await run.checks.resolver.resolve(run.checks.resolver.rewrite(address));
  return resolution.addressClass !== 'default';
}

/** This host's own addresses: inet_interfaces and proxy_interfaces ("all": every interface). */
function ownAddresses(run: CheckRun): Set<string> {
  const p = run.checks.params;
  const own = new Set<string>(p.proxy_interfaces);
  if (p.inet_interfaces.some((i) => i === 'all')) {
    for (const list of Object.values(networkInterfaces())) for (const info of list ?? []) own.add(info.address);
  } else {
    for (const item of p.inet_interfaces) own.add(item === 'loopback-only' ? '127.0.0.1' : item);
  }
  return own;
}

/** permit_mx_backup: an authorised destination, or a domain with this host among its MX hosts. */
async function mxBackup(run: CheckRun): Promise<Verdict> {
  if (run.req.recipient === undefined) return undefined;
  if (await authDestination(run)) return 'permit';
  const hosts = await run.checks.dns.mxHosts(domainOf(run.req.recipient));
  if (hosts.status !== 'found') return undefined;
  const own = ownAddresses(run);
  for (const host of hosts.value) {
    if (host.toLowerCase() === run.checks.params.myhostname.toLowerCase()) return 'permit';
    const addresses = await run.checks.dns.addresses(host);
    if (addresses.status === 'found' && addresses.value.some((a) => own.has(a))) return 'permit';
  }
  return undefined;
}

/** reject_unknown_sender_domain / _recipient_domain: a domain of the default class with no address and no MX. */
async function unknownDomain(run: CheckRun, address: string | undefined, subject: ReplySubject, detail: string): Promise<Verdict> {
  const domain = domainOf(address);
  if (address === undefined || address === '' || domain === '' || domain.startsWith('[')) return undefined;
  const resolution = await run.checks.resolver.resolve(run.checks.resolver.rewrite(address));
  if (resolution.addressClass !== 'default') return undefined;
  const found = await run.checks.dns.hostOrMx(domain);
  if (found === 'found') return undefined;
  const code = run.checks.params.unknown_address_reject_code;
  const reply = subjectReply(subject, found === 'temporary' ? 450 : code, `4.${detail}`, 'Domain not found');
  if (found === 'temporary') {
    run.deferIfPermit(reply);
    return undefined;
  }
  return reply;
}

function needsRecipient(check: (run: CheckRun, address: string) => Promise<Verdict>): (run: CheckRun) => Promise<Verdict> {
  return (run) => (run.req.recipient === undefined ? Promise.resolve(undefined) : check(run, run.req.recipient));
}

function needsSender(check: (run: CheckRun, address: string) => Promise<Verdict>): (run: CheckRun) => Promise<Verdict> {
  return (run) => (run.req.sender === undefined ? Promise.resolve(undefined) : check(run, run.req.sender));
}

function needsHelo(check: (run: CheckRun, name: string) => Promise<Verdict>): (run: CheckRun) => Promise<Verdict> {
  return (run) => (run.req.helo === undefined ? Promise.resolve(undefined) : check(run, run.req.helo));
}

function fixed(reply: (run: CheckRun) => CheckReply | Verdict): Restriction {
  return async (run) => reply(run);
}

/** check_{client,reverse_client}_{a,mx,ns}_access: the hosts or addresses the DNS gives for the client's name; nothing for an unknown name. */
function clientServerAccess(run: CheckRun, table: string, name: string, kind: 'a' | 'mx' | 'ns'): Promise<Verdict> {
  return name === 'unknown' ? Promise.resolve(undefined) : serverAccess(run, table, name.toLowerCase(), kind, client(run));
}

/** Every restriction name Petrel implements. */
const RESTRICTIONS = {
  permit: fixed(() => 'permit'),
  reject: fixed((run) => subjectReply(run.subject, run.checks.params.reject_code, '5.7.1', 'Access denied')),
  defer: fixed((run) => subjectReply(run.subject, run.checks.params.defer_code, '4.3.2', 'Try again later')),
  defer_if_permit: fixed((run) => {
    run.deferIfPermit(subjectReply(run.subject, run.checks.params.defer_code, '4.7.0', 'defer_if_permit requested'));
    return undefined;
  }),
  defer_if_reject: fixed((run) => {
    run.deferIfReject(subjectReply(run.subject, run.checks.params.defer_code, '4.7.0', 'defer_if_reject requested'));
    return undefined;
  }),
  warn_if_reject: fixed((run) => {
    run.warnIfReject();
    return undefined;
  }),
  permit_mynetworks: fixed((run) => (run.checks.inNetworks(run.req.clientAddress, run.checks.mynetworks) ? 'permit' : undefined)),
  permit_sasl_authenticated: fixed((run) => (run.req.saslUsername !== undefined ? 'permit' : undefined)),
  permit_tls_all_clientcerts: fixed((run) => (run.req.clientCert?.verified === true ? 'permit' : undefined)),
  // A listed fingerprint pins the certificate itself, so (as in Postfix) its issuer need not be trusted.
  permit_tls_clientcerts: async (run) => {
    const cert = run.req.clientCert;
    if (cert === undefined || run.checks.relayClientCerts === undefined) return undefined;
    return (await run.checks.relayClientCerts.lookup(cert.fingerprint)) !== undefined ? 'permit' : undefined;
  },
  reject_authenticated_sender_login_mismatch: (run) => senderLoginMismatch(run, 'authenticated'),
  reject_unauthenticated_sender_login_mismatch: (run) => senderLoginMismatch(run, 'unauthenticated'),
  reject_sender_login_mismatch: (run) => senderLoginMismatch(run, 'both'),
  reject_known_sender_login_mismatch: (run) => senderLoginMismatch(run, 'known'),
  permit_inet_interfaces: fixed((run) => (ownAddresses(run).has(run.req.clientAddress) ? 'permit' : undefined)),
  permit_auth_destination: async (run) => (run.req.recipient !== undefined && (await authDestination(run)) ? 'permit' : undefined),
  reject_unauth_destination: (run) => unauthDestination(run, run.checks.params.relay_domains_reject_code, '5.7.1'),
  defer_unauth_destination: (run) => unauthDestination(run, 454, '4.7.1'),
  permit_mx_backup: mxBackup,
  reject_unknown_client_hostname: fixed((run) => {
    if (run.req.clientName !== 'unknown') return undefined;
    const code = run.req.nameTempFail ? 450 : run.checks.params.unknown_client_reject_code;
    return { code, dsn: `${String(code)[0] as string}.7.25`, text: `Client host rejected: cannot find your hostname, [${run.req.clientAddress}]` };
  }),
  reject_unknown_reverse_client_hostname: fixed((run) => {
    if (run.req.reverseName !== 'unknown') return undefined;
    const code = run.req.nameTempFail ? 450 : run.checks.params.unknown_client_reject_code;
    return { code, dsn: `${String(code)[0] as string}.7.1`, text: `Client host rejected: cannot find your reverse hostname, [${run.req.clientAddress}]` };
  }),
  reject_invalid_helo_hostname: needsHelo(async (run, name) => (validHostname(name) ? undefined : subjectReply(helo(run), run.checks.params.invalid_hostname_reject_code, '5.5.2', 'Invalid name'))),
  reject_non_fqdn_helo_hostname: needsHelo(async (run, name) => (fqdn(name) ? undefined : subjectReply(helo(run), run.checks.params.non_fqdn_reject_code, '5.5.2', 'need fully-qualified hostname'))),
  reject_unknown_helo_hostname: needsHelo(async (run, name) => {
    if (name.startsWith('[') || !validHostname(name)) return undefined;
    const found = await run.checks.dns.hostOrMx(name);
    if (found === 'found') return undefined;
    const reply = subjectReply(helo(run), found === 'temporary' ? 450 : run.checks.params.unknown_hostname_reject_code, '4.7.1', 'Host not found');
    if (found === 'none') return reply;
    run.deferIfPermit(reply);
    return undefined;
  }),
  reject_non_fqdn_sender: needsSender(async (run, address) => (address === '' || fqdn(domainOf(address)) ? undefined : subjectReply(sender(run), run.checks.params.non_fqdn_reject_code, '5.5.2', 'need fully-qualified address'))),
  reject_non_fqdn_recipient: needsRecipient(async (run, address) => (fqdn(domainOf(address)) ? undefined : subjectReply(recipient(run), run.checks.params.non_fqdn_reject_code, '5.5.2', 'need fully-qualified address'))),
  reject_unknown_sender_domain: needsSender((run, address) => unknownDomain(run, address, sender(run), '1.8')),
  reject_unknown_recipient_domain: needsRecipient((run, address) => unknownDomain(run, address, recipient(run), '1.2')),
  reject_unlisted_sender: needsSender((run, address) => (address === '' ? Promise.resolve(undefined) : run.checks.unlisted(address, 'sender'))),
  reject_unlisted_recipient: needsRecipient((run, address) => run.checks.unlisted(address, 'recipient')),
  reject_unverified_sender: needsSender((run, address) => (address === '' ? Promise.resolve(undefined) : unverifiedAddress(run, address, 'sender'))),
  reject_unverified_recipient: needsRecipient((run, address) => unverifiedAddress(run, address, 'recipient')),
  reject_unauth_pipelining: fixed((run) => (run.req.pipelined ? subjectReply(run.subject, 503, '5.5.0', 'Improper use of SMTP command pipelining') : undefined)),
  reject_multi_recipient_bounce: fixed((run) => {
    const atRcpt = run.req.command === 'RCPT';
    const count = run.req.recipientCount + (atRcpt ? 1 : 0);
    if (run.req.sender !== '' || count < 2) return undefined;
    return subjectReply(run.subject, run.checks.params.multi_recipient_bounce_reject_code, '5.5.3', 'Multi-recipient bounce');
  }),
  reject_plaintext_session: fixed((run) => (run.req.tls ? undefined : { code: run.checks.params.plaintext_reject_code, dsn: `${String(run.checks.params.plaintext_reject_code)[0] as string}.7.1`, text: 'Session encryption is required' })),
  check_client_access: (run, table) => clientAccess(run, table, run.req.clientName, run.req.clientAddress, client(run)),
  check_reverse_client_hostname_access: (run, table) => clientAccess(run, table, run.req.reverseName, run.req.clientAddress, client(run)),
  check_sasl_access: saslAccess,
  check_ccert_access: async (run, table) => (run.req.clientCert === undefined ? undefined : clientAccessByCert(run, table)),
  check_helo_access: (run, table) => needsHelo((r, name) => nameAccess(r, table, name, helo(r)))(run),
  check_helo_a_access: (run, table) => needsHelo((r, name) => serverAccess(r, table, name, 'a', helo(r)))(run),
  check_helo_mx_access: (run, table) => needsHelo((r, name) => serverAccess(r, table, name, 'mx', helo(r)))(run),
  check_helo_ns_access: (run, table) => needsHelo((r, name) => serverAccess(r, table, name, 'ns', helo(r)))(run),
  check_client_a_access: (run, table) => clientServerAccess(run, table, run.req.clientName, 'a'),
  check_client_mx_access: (run, table) => clientServerAccess(run, table, run.req.clientName, 'mx'),
  check_client_ns_access: (run, table) => clientServerAccess(run, table, run.req.clientName, 'ns'),
  check_reverse_client_a_access: (run, table) => clientServerAccess(run, table, run.req.reverseName, 'a'),
  check_reverse_client_mx_access: (run, table) => clientServerAccess(run, table, run.req.reverseName, 'mx'),
  check_reverse_client_ns_access: (run, table) => clientServerAccess(run, table, run.req.reverseName, 'ns'),
  check_recipient_a_access: (run, table) => needsRecipient((r, address) => serverAccess(r, table, domainOf(address), 'a', recipient(r)))(run),
  check_sender_access: (run, table) => needsSender((r, address) => mailAccess(r, table, address, sender(r)))(run),
  check_sender_a_access: (run, table) => needsSender((r, address) => serverAccess(r, table, domainOf(address), 'a', sender(r)))(run),
  check_sender_mx_access: (run, table) => needsSender((r, address) => serverAccess(r, table, domainOf(address), 'mx', sender(r)))(run),
  check_sender_ns_access: (run, table) => needsSender((r, address) => serverAccess(r, table, domainOf(address), 'ns', sender(r)))(run),
  check_recipient_access: (run, table) => needsRecipient((r, address) => mailAccess(r, table, address, recipient(r)))(run),
  check_recipient_mx_access: (run, table) => needsRecipient((r, address) => serverAccess(r, table, domainOf(address), 'mx', recipient(r)))(run),
  check_recipient_ns_access: (run, table) => needsRecipient((r, address) => serverAccess(r, table, domainOf(address), 'ns', recipient(r)))(run),
  check_policy_service: checkPolicyService,
} satisfies Record<string, Restriction>;

/** A restriction name Petrel implements. */
export type RestrictionName = keyof typeof RESTRICTIONS;

/** check_ccert_access: the client certificate's fingerprint as the key. */
async function clientAccessByCert(run: CheckRun, table: string): Promise<Verdict> {
  return mailAccess(run, table, run.req.clientCert?.fingerprint ?? '', client(run));
}

function isRestriction(name: string): name is RestrictionName {
  return Object.hasOwn(RESTRICTIONS, name);
}

/** True for the names that take a table as the next list item. */
function takesTable(name: string): boolean {
  return /^check_.*_access$/.test(name);
}

const POLICY_SERVICE = 'check_policy_service';

/** Parses a restriction list; where names the parameter or class for error messages. */
export function parseRestrictions(where: string, items: readonly string[], classes: ReadonlyMap<string, readonly string[]>): ParsedStep[] {
  const steps: ParsedStep[] = [];
  let previous: DnsListStep | undefined;
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as string;
    const name = item.toLowerCase();
    const classList = classes.get(item);
    if (classList !== undefined) {
      previous = undefined;
      steps.push({ name: item, table: '', run: (run) => run.nested(classList) });
      continue;
    }
    if (isDnsList(name)) {
      const arg = items[i + 1];
      if (arg === undefined) throw new PetrelError('config', `${where}: restriction "${item}" needs a DNS domain argument`);
      i++;
      const step = parseDnsList(where, name, arg);
      // A run of DNS lists is asked at once: each step knows the one after it.
      if (previous !== undefined) previous.next = step;
      previous = step;
      steps.push({ name, table: arg, run: name.startsWith('permit_') ? (run) => permitListed(run, step, authDestination) : (run) => rejectListed(run, step) });
      continue;
    }
    if (!isRestriction(name)) throw new PetrelError('config', `${where}: unknown restriction "${item}"`);
    previous = undefined;
    let table = '';
    if (takesTable(name)) {
      table = items[i + 1] ?? '';
      if (!/^[a-z0-9]+:/i.test(table)) throw new PetrelError('config', `${where}: restriction "${item}" needs a type:table argument`);
      i++;
    } else if (name === POLICY_SERVICE) {
      table = items[i + 1] ?? '';
      if (!/^(inet:|unix:|\{)/i.test(table)) throw new PetrelError('config', `${where}: restriction "${item}" needs a policy service argument (inet:host:port, unix:pathname or { name, option=value ... })`);
      i++;
    }
    steps.push({ name, table, run: RESTRICTIONS[name] });
  }
  return steps;
}

/** The access tables (or, with policy, the policy services) a list names, after validating it. */
export function tableSpecs(where: string, items: readonly string[], classes: ReadonlyMap<string, readonly string[]>, policy = false): string[] {
  return parseRestrictions(where, items, classes)
    .filter((step) => (policy ? step.name === POLICY_SERVICE : takesTable(step.name)))
    .map((step) => step.table);
}
