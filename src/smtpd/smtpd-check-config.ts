/*
 * smtpd-check-config - what the restriction checks of one smtpd process
 * share, built once at start-up: every restriction list parsed (an unknown
 * name, a missing table or a restriction Petrel does not implement yet is a
 * start-up error), the restriction classes of smtpd_restriction_classes,
 * every access table and policy service the lists name opened, the
 * networks (mynetworks, the exemption and authorisation lists), the DNS
 * resolver of the checks,
 * rbl_reply_maps when a DNS list restriction may need it, and
 * the free-space check of MAIL FROM; and the refusal of a relay policy
 * that relays for anyone (requireRelayControl). Built by smtpd-main.ts and
 * smtpd-standalone.ts; read by smtpd-check.ts and the restrictions.
 */
import { statfsSync, type StatsFs } from 'node:fs';
import ipaddr from 'ipaddr.js';
import type { AddressResolver } from '../global/addr/addr-resolve.js';
import { splitList } from '../global/config/param-convert.js';
import { PetrelError } from '../global/errors.js';
import type { Params } from '../global/params/param-registry.js';
import { openTableList, type TableList } from '../global/tables/table-list.js';
import { tableContext } from '../global/tables/table.js';
import { msg } from '../util/msg.js';
import { CheckDns } from './smtpd-check-dns.js';
import { parseRestrictions, tableSpecs, type ParsedStep } from './smtpd-check-names.js';
import type { CheckReply, Stage } from './smtpd-check-types.js';
import { PolicyService } from './smtpd-policy-clnt.js';
import { unlistedAddress, type RecipientMaps } from './smtpd-recipient-maps.js';

/** A network as address and prefix length. */
export type Network = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** The restriction list parameter of each stage. */
export const STAGE_PARAMS = {
  client: 'smtpd_client_restrictions',
  helo: 'smtpd_helo_restrictions',
  sender: 'smtpd_sender_restrictions',
  relay: 'smtpd_relay_restrictions',
  recipient: 'smtpd_recipient_restrictions',
  data: 'smtpd_data_restrictions',
  end_of_data: 'smtpd_end_of_data_restrictions',
  etrn: 'smtpd_etrn_restrictions',
} as const satisfies Record<Stage, keyof Params>;

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

/** The tables a process's checks read besides the resolver and the access tables. */
export interface CheckTables {
  readonly recipientMaps: RecipientMaps;
  readonly senderLogins: TableList | undefined;
  readonly relayClientCerts: TableList | undefined;
  readonly ehloKeywordMaps: TableList | undefined;
}

/** The restrictions of which smtpd_relay_restrictions or smtpd_recipient_restrictions must name one, as Postfix requires. */
const RELAY_CONTROLS = ['reject_unauth_destination', 'defer_unauth_destination', 'reject', 'defer', 'defer_if_permit', 'check_relay_domains'];

/**
 * Refuses, as Postfix's smtpd does, a configuration whose relay and
 * recipient lists name none of RELAY_CONTROLS at their top level: such an
 * SMTP server would relay mail for anyone (an open relay).
 */
export function requireRelayControl(params: Params): void {
  const named = [...params.smtpd_relay_restrictions, ...params.smtpd_recipient_restrictions].map((item) => item.toLowerCase());
  if (RELAY_CONTROLS.some((name) => named.includes(name))) return;
  const last = RELAY_CONTROLS.slice(0, -1).join(', ');
  throw new PetrelError('config', `in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working instance of: ${last} or ${RELAY_CONTROLS.at(-1)}`);
}

/** The restriction classes: each name of smtpd_restriction_classes with its list (from main.cf as an ordinary parameter). */
export function restrictionClasses(params: Params, value: (name: string) => string | undefined): Map<string, string[]> {
  const classes = new Map<string, string[]>();
  for (const name of params.smtpd_restriction_classes) classes.set(name, splitList(value(name) ?? ''));
  return classes;
}

/** The checks of one smtpd process. */
export class SmtpdChecks {
  readonly mynetworks: Network[];
  readonly bareNewlineExclusions: Network[];
  readonly saslExceptions: Network[];
  readonly xclientHosts: Network[];
  readonly xforwardHosts: Network[];
  /** smtpd_client_event_limit_exceptions: clients anvil does not count. */
  readonly eventLimitExceptions: Network[];
  readonly localDomains: ReadonlySet<string>;
  readonly senderLogins: TableList | undefined;
  readonly relayClientCerts: TableList | undefined;
  readonly ehloKeywordMaps: TableList | undefined;
  /** The parsed list of each stage. */
  readonly lists: Readonly<Record<Stage, readonly ParsedStep[]>>;
  /** True when smtpd_access_maps is in parent_domain_matches_subdomains. */
  readonly parentMatches: boolean;
  readonly dns: CheckDns;
  /** rbl_reply_maps, when set. */
  readonly rblReplies: TableList | undefined;
  private readonly recipientMaps: RecipientMaps;
  private readonly parsed = new Map<string, readonly ParsedStep[]>();

  private constructor(
    readonly params: Params,
    readonly resolver: AddressResolver,
    tables: CheckTables,
    readonly classes: ReadonlyMap<string, readonly string[]>,
    private readonly accessTables: ReadonlyMap<string, TableList>,
    rblReplies: TableList | undefined,
    private readonly policyServices: Map<string, PolicyService>,
  ) {
    this.rblReplies = rblReplies;
    const lists: Partial<Record<Stage, readonly ParsedStep[]>> = {};
    for (const [stage, name] of Object.entries(STAGE_PARAMS) as [Stage, keyof Params & string][]) lists[stage] = this.parseSteps(name, params[name] as readonly string[]);
    for (const [name, list] of classes) this.parseSteps(name, list);
    this.lists = lists as Record<Stage, readonly ParsedStep[]>;
    this.parentMatches = params.parent_domain_matches_subdomains.includes('smtpd_access_maps');
    this.mynetworks = parseNetworks('mynetworks', params.mynetworks);
    this.bareNewlineExclusions = parseNetworks('smtpd_forbid_bare_newline_exclusions', params.smtpd_forbid_bare_newline_exclusions);
    this.saslExceptions = parseNetworks('smtpd_sasl_exceptions_networks', params.smtpd_sasl_exceptions_networks);
    this.xclientHosts = parseNetworks('smtpd_authorized_xclient_hosts', params.smtpd_authorized_xclient_hosts);
    this.xforwardHosts = parseNetworks('smtpd_authorized_xforward_hosts', params.smtpd_authorized_xforward_hosts);
    this.eventLimitExceptions = parseNetworks('smtpd_client_event_limit_exceptions', params.smtpd_client_event_limit_exceptions);
    this.localDomains = new Set(params.mydestination.map((d) => d.toLowerCase()));
    this.recipientMaps = tables.recipientMaps;
    this.senderLogins = tables.senderLogins;
    this.relayClientCerts = tables.relayClientCerts;
    this.ehloKeywordMaps = tables.ehloKeywordMaps;
    this.dns = new CheckDns(params.dns_servers, params.petrel_dns_cache_time);
  }

  /** Parses every list (a configuration error for a bad one) and opens the access tables they name. */
  static async open(params: Params, resolver: AddressResolver, tables: CheckTables, classes: ReadonlyMap<string, readonly string[]> = new Map()): Promise<SmtpdChecks> {
    const specs = new Set<string>();
    const services = new Map<string, PolicyService>();
    const lists = [...Object.values(STAGE_PARAMS).map((name) => [name, params[name]] as const), ...classes];
    for (const [name, list] of lists) {
      for (const spec of tableSpecs(name, list, classes)) specs.add(spec);
      for (const spec of tableSpecs(name, list, classes, true)) if (!services.has(spec)) services.set(spec, PolicyService.open(spec, params));
    }
    const access = new Map<string, TableList>();
    for (const spec of specs) access.set(spec, await openTableList([spec], tableContext(params)));
    const rblReplies = params.rbl_reply_maps.length > 0 ? await openTableList(params.rbl_reply_maps, tableContext(params)) : undefined;
    return new SmtpdChecks(params, resolver, tables, classes, access, rblReplies, services);
  }

  /** The parsed steps of a list (cached); throws a configuration error for a bad one. */
  parseSteps(where: string, names: readonly string[]): readonly ParsedStep[] {
    const key = names.join('\0');
    let steps = this.parsed.get(key);
    if (steps === undefined) {
      steps = parseRestrictions(where, names, this.classes);
      this.parsed.set(key, steps);
    }
    return steps;
  }

  /** The policy service spec names: opened at start-up, or now for one an access table's result names (a bad one is a temporary failure). */
  policyService(spec: string): PolicyService {
    let service = this.policyServices.get(spec);
    if (service === undefined) {
      try {
        service = PolicyService.open(spec, this.params);
      } catch (err) {
        throw new PetrelError('config', (err as Error).message, { temporary: true });
      }
      this.policyServices.set(spec, service);
    }
    return service;
  }

  /** The opened access table spec names (opened at start-up). */
  accessTable(spec: string): TableList {
    const table = this.accessTables.get(spec);
    if (table === undefined) throw new PetrelError('config', `access table ${spec} was not opened at start-up`, { temporary: true });
    return table;
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

  /** The reply refusing a recipient (or sender) the tables of its address class do not list, or undefined. */
  unlisted(address: string, role: 'recipient' | 'sender'): Promise<CheckReply | undefined> {
    // receive_override_options no_unknown_recipient_checks (behind a content filter) turns the recipient check off.
    if (role === 'recipient' && this.params.receive_override_options.includes('no_unknown_recipient_checks')) return Promise.resolve(undefined);
    return unlistedAddress(this.params, this.resolver, this.recipientMaps, this.localDomains, address, role);
  }
}
