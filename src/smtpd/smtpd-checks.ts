/*
 * smtpd-checks - the recipient checks smtpd(8) makes at RCPT TO with the
 * default policy Postfix ships and what submission services add:
 * permit_mynetworks, permit_sasl_authenticated, permit_tls_clientcerts
 * (relay_clientcerts fingerprints), permit_tls_all_clientcerts,
 * reject_unauth_destination, defer_unauth_destination, the three
 * reject_*_sender_login_mismatch checks against smtpd_sender_login_maps,
 * permit, reject and defer (the full restriction language is a later piece
 * of work: any other name is a configuration error at start-up, never
 * ignored), reject_unlisted_recipient, then (smtpd_reject_unlisted_recipient)
 * the unknown-recipient check of the recipient's address class
 * (smtpd-recipient-maps.ts). Each check answers a reply or "no opinion"; a
 * table that cannot answer makes the reply 451 4.3.0 "Temporary lookup
 * failure", never a verdict.
 */
import { statfsSync, type StatsFs } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { findFirst } from '../global/addr/addr-find.js';
import { mailAddrKeys } from '../global/addr/addr-search-keys.js';
import type { AddressResolver } from '../global/addr/addr-resolve.js';
import { isTemporary, PetrelError } from '../global/errors.js';
import type { Params } from '../global/params/param-registry.js';
import { splitList } from '../global/config/param-convert.js';
import type { TableList } from '../global/tables/table-list.js';
import { msg } from '../util/msg.js';
import { unlistedRecipient, type RecipientMaps } from './smtpd-recipient-maps.js';

/** An SMTP reply to a rejected command. */
export interface CheckReply {
  readonly code: number;
  readonly dsn: string;
  readonly text: string;
}

/** What a restriction sees. */
export interface RcptContext {
  readonly clientAddress: string;
  /** The SASL login, when the client authenticated. */
  readonly saslUsername: string | undefined;
  /** The TLS client certificate's fingerprint and whether it verified, when one was presented. */
  readonly clientCert: { readonly fingerprint: string; readonly verified: boolean } | undefined;
  readonly sender: string;
  readonly recipient: string;
}

/** A network as address and prefix length. */
export type Network = [ipaddr.IPv4 | ipaddr.IPv6, number];

type Verdict = 'permit' | CheckReply | undefined;
type Restriction = (ctx: RcptContext, checks: SmtpdChecks) => Promise<Verdict>;

async function unauthDestination(ctx: RcptContext, checks: SmtpdChecks, code: number, dsn: string): Promise<Verdict> {
  const resolution = await checks.resolver.resolve(checks.resolver.rewrite(ctx.recipient));
  if (resolution.addressClass !== 'default') return undefined;
  return { code, dsn, text: `<${ctx.recipient}>: Relay access denied` };
}

/** The logins that own sender per smtpd_sender_login_maps, or undefined when nobody does. */
async function senderOwners(ctx: RcptContext, checks: SmtpdChecks): Promise<string[] | undefined> {
  if (ctx.sender === '' || checks.senderLogins === undefined) return undefined;
  const keys = mailAddrKeys(ctx.sender.toLowerCase(), { delimiters: checks.params.recipient_delimiter, isLocalDomain: (d) => checks.localDomains.has(d.toLowerCase()) });
  const found = await findFirst(checks.senderLogins, keys);
  return found === undefined ? undefined : splitList(found.value);
}

async function authenticatedMismatch(ctx: RcptContext, checks: SmtpdChecks): Promise<Verdict> {
  if (ctx.saslUsername === undefined) return undefined;
  const owners = await senderOwners(ctx, checks);
  if (owners !== undefined && owners.some((o) => o.toLowerCase() === (ctx.saslUsername as string).toLowerCase())) return undefined;
  return { code: 553, dsn: '5.7.1', text: `<${ctx.sender}>: Sender address rejected: not owned by user ${ctx.saslUsername}` };
}

async function unauthenticatedMismatch(ctx: RcptContext, checks: SmtpdChecks): Promise<Verdict> {
  if (ctx.saslUsername !== undefined) return undefined;
  if ((await senderOwners(ctx, checks)) === undefined) return undefined;
  return { code: 553, dsn: '5.7.1', text: `<${ctx.sender}>: Sender address rejected: not logged in` };
}

/** Every restriction name Petrel implements so far. */
export const RESTRICTIONS: Readonly<Record<string, Restriction>> = {
  permit: async () => 'permit',
  reject: async () => ({ code: 554, dsn: '5.7.1', text: 'Access denied' }),
  defer: async () => ({ code: 450, dsn: '4.7.1', text: 'Try again later' }),
  permit_mynetworks: async (ctx, checks) => (checks.inNetworks(ctx.clientAddress, checks.mynetworks) ? 'permit' : undefined),
  permit_sasl_authenticated: async (ctx) => (ctx.saslUsername !== undefined ? 'permit' : undefined),
  permit_tls_all_clientcerts: async (ctx) => (ctx.clientCert?.verified === true ? 'permit' : undefined),
  // A listed fingerprint pins the certificate itself, so (as in Postfix) its issuer need not be trusted.
  permit_tls_clientcerts: async (ctx, checks) => {
    if (ctx.clientCert === undefined || checks.relayClientCerts === undefined) return undefined;
    return (await checks.relayClientCerts.lookup(ctx.clientCert.fingerprint)) !== undefined ? 'permit' : undefined;
  },
  reject_authenticated_sender_login_mismatch: authenticatedMismatch,
  reject_unauthenticated_sender_login_mismatch: unauthenticatedMismatch,
  reject_sender_login_mismatch: async (ctx, checks) => (await authenticatedMismatch(ctx, checks)) ?? unauthenticatedMismatch(ctx, checks),
  // In smtpd_data_restrictions there is no one recipient to check.
  reject_unlisted_recipient: async (ctx, checks) => (ctx.recipient === '' ? undefined : checks.unlisted(ctx.recipient)),
  reject_unauth_destination: (ctx, checks) => unauthDestination(ctx, checks, 554, '5.7.1'),
  defer_unauth_destination: (ctx, checks) => unauthDestination(ctx, checks, 454, '4.7.1'),
};

/** Checks a restriction list at start-up; an unknown name is a configuration error. */
export function validateRestrictions(name: string, list: readonly string[]): void {
  for (const item of list) {
    if (RESTRICTIONS[item] === undefined) {
      throw new PetrelError('config', `${name}: unsupported restriction "${item}" (Petrel implements ${Object.keys(RESTRICTIONS).join(', ')})`);
    }
  }
}

function parseNetworks(name: string, items: readonly string[]): Network[] {
  return items.map((item) => {
    const text = item.replace(/^\[([^\]]+)\]/, '$1');
    try {
      if (text.includes('/')) return ipaddr.parseCIDR(text);
      const address = ipaddr.parse(text);
      return [address, address.kind() === 'ipv4' ? 32 : 128];
    } catch {
      throw new PetrelError('config', `${name}: bad network "${item}"`);
    }
  });
}

/** The tables a process's checks read besides the resolver. */
export interface CheckTables {
  readonly recipientMaps: RecipientMaps;
  readonly senderLogins: TableList | undefined;
  readonly relayClientCerts: TableList | undefined;
  readonly ehloKeywordMaps: TableList | undefined;
}

/** The checks of one smtpd process. */
export class SmtpdChecks {
  readonly mynetworks: Network[];
  readonly bareNewlineExclusions: Network[];
  readonly saslExceptions: Network[];
  readonly xclientHosts: Network[];
  readonly xforwardHosts: Network[];
  readonly localDomains: ReadonlySet<string>;
  readonly senderLogins: TableList | undefined;
  readonly relayClientCerts: TableList | undefined;
  readonly ehloKeywordMaps: TableList | undefined;
  private readonly recipientMaps: RecipientMaps;

  constructor(
    readonly params: Params,
    readonly resolver: AddressResolver,
    tables: CheckTables,
  ) {
    for (const [name, list] of this.lists()) validateRestrictions(name, list);
    validateRestrictions('smtpd_data_restrictions', params.smtpd_data_restrictions);
    this.mynetworks = parseNetworks('mynetworks', params.mynetworks);
    this.bareNewlineExclusions = parseNetworks('smtpd_forbid_bare_newline_exclusions', params.smtpd_forbid_bare_newline_exclusions);
    this.saslExceptions = parseNetworks('smtpd_sasl_exceptions_networks', params.smtpd_sasl_exceptions_networks);
    this.xclientHosts = parseNetworks('smtpd_authorized_xclient_hosts', params.smtpd_authorized_xclient_hosts);
    this.xforwardHosts = parseNetworks('smtpd_authorized_xforward_hosts', params.smtpd_authorized_xforward_hosts);
    this.localDomains = new Set(params.mydestination.map((d) => d.toLowerCase()));
    this.recipientMaps = tables.recipientMaps;
    this.senderLogins = tables.senderLogins;
    this.relayClientCerts = tables.relayClientCerts;
    this.ehloKeywordMaps = tables.ehloKeywordMaps;
  }

  /**
   * False (with a warning) while the queue file system has less free space
   * than queue_minfree or 1.5 × message_size_limit, as Postfix's smtpd
   * checks at MAIL FROM, so a full disk is a clear temporary refusal, not a
   * failure in the middle of DATA.
   */
  enoughSpace(): boolean {
    const p = this.params;
    const needed = Math.max(p.queue_minfree, p.message_size_limit > 0 ? 1.5 * p.message_size_limit : 0);
    if (needed <= 0) return true;
    let fsStats: StatsFs;
    try {
      // Synchronous: a statfs takes microseconds, a thread-pool round trip far more (util/file-io.ts).
      fsStats = statfsSync(p.queue_directory);
    } catch {
      return true;
    }
    const free = fsStats.bavail * fsStats.bsize;
    if (free >= needed) return true;
    msg.warn(`not enough free space in mail queue: ${free} bytes < ${p.queue_minfree > 1.5 * p.message_size_limit ? 'queue_minfree' : '1.5*message_size_limit'}`);
    return false;
  }

  /** True when address is in one of networks. */
  inNetworks(address: string, networks: readonly Network[]): boolean {
    if (networks.length === 0 || !ipaddr.isValid(address)) return false;
    let parsed = ipaddr.parse(address);
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    return networks.some(([net, bits]) => net.kind() === parsed.kind() && parsed.match(net, bits));
  }

  private async runList(list: readonly string[], ctx: RcptContext): Promise<Verdict> {
    for (const name of list) {
      const verdict = await (RESTRICTIONS[name] as Restriction)(ctx, this);
      if (verdict !== undefined) return verdict;
    }
    return undefined;
  }

  /** The restriction lists evaluated at RCPT TO, in Postfix's order (client, helo and sender ones are delayed to RCPT, as with smtpd_delay_reject = yes). */
  private lists(): [string, readonly string[]][] {
    const p = this.params;
    return [
      ['smtpd_client_restrictions', p.smtpd_client_restrictions],
      ['smtpd_helo_restrictions', p.smtpd_helo_restrictions],
      ['smtpd_sender_restrictions', p.smtpd_sender_restrictions],
      ['smtpd_relay_restrictions', p.smtpd_relay_restrictions],
      ['smtpd_recipient_restrictions', p.smtpd_recipient_restrictions],
    ];
  }

  /** The reply rejecting DATA per smtpd_data_restrictions, or undefined. */
  async data(ctx: Omit<RcptContext, 'recipient'>): Promise<CheckReply | undefined> {
    const verdict = await this.runList(this.params.smtpd_data_restrictions, { ...ctx, recipient: '' });
    return verdict === 'permit' ? undefined : verdict;
  }

  /** The reply refusing recipient when the tables of its address class do not list it, or undefined (always, under receive_override_options no_unknown_recipient_checks). */
  async unlisted(recipient: string): Promise<CheckReply | undefined> {
    if (this.params.receive_override_options.includes('no_unknown_recipient_checks')) return undefined;
    return unlistedRecipient(this.params, this.resolver, this.recipientMaps, this.localDomains, recipient);
  }

  /** The reply rejecting ctx.recipient, or undefined when it is accepted. */
  async recipient(ctx: RcptContext): Promise<CheckReply | undefined> {
    try {
      for (const [, list] of this.lists()) {
        const verdict = await this.runList(list, ctx);
        if (verdict !== undefined && verdict !== 'permit') return verdict;
      }
      return this.params.smtpd_reject_unlisted_recipient ? await this.unlisted(ctx.recipient) : undefined;
    } catch (err) {
      if (!isTemporary(err)) throw err;
      msg.warn(`<${ctx.recipient}>: ${(err as Error).message}`);
      return { code: 451, dsn: '4.3.0', text: `<${ctx.recipient}>: Temporary lookup failure` };
    }
  }
}
