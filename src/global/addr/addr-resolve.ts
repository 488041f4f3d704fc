/*
 * addr-resolve - Petrel's trivial-rewrite (trivial-rewrite(8)) as a library
 * each process caches for itself: "rewrite" puts an address in canonical
 * form (append_at_myorigin, append_dot_mydomain, swap_bangpath,
 * allow_percent_hack, source routes dropped), and "resolve" finds the
 * address class (local, virtual alias, virtual mailbox, relay, default)
 * and the transport and next hop: local_transport, virtual_transport,
 * relay_transport or default_transport (a next hop they name, else
 * relayhost, else the domain), overridden by transport_maps in transport(5)
 * search order, "transport:nexthop" with either part optional. For mail
 * from a given sender, sender_dependent_default_transport_maps and
 * sender_dependent_relayhost_maps (looked up by the sender, then @domain;
 * DUNNO stops the search) stand in for default_transport and relayhost. A
 * result is reused for petrel_table_cache_time at most, as the table
 * answers it rests on are. Used by smtpd, cleanup and qmgr.
 */
import type { Params } from '../params/param-registry.js';
import { openTableList, type TableList } from '../tables/table-list.js';
import { tableContext, type TableOpenContext } from '../tables/table.js';
import { findFirst } from './addr-find.js';
import { splitAddress } from './addr-parts.js';
import { mailAddrKeys, parentDomainKeys, transportKeys, type SearchKey } from './addr-search-keys.js';

/** The address classes of trivial-rewrite(8). */
export type AddressClass = 'local' | 'virtual_alias' | 'virtual_mailbox' | 'relay' | 'default';

/** Where an address goes. */
export interface Resolution {
  readonly addressClass: AddressClass;
  readonly transport: string;
  readonly nexthop: string;
  readonly recipient: string;
}

/** Splits "transport:nexthop" (either part may be empty). */
export function splitTransport(value: string): { transport: string; nexthop: string } {
  const colon = value.indexOf(':');
  return colon < 0 ? { transport: value, nexthop: '' } : { transport: value.slice(0, colon), nexthop: value.slice(colon + 1) };
}

/** Domain lists that may mix plain names and type:name tables (mydestination, relay_domains ...). */
class DomainList {
  private constructor(
    private readonly names: ReadonlySet<string>,
    private readonly tables: TableList,
    private readonly parentMatches: boolean,
  ) {}

  static async open(items: readonly string[], parentMatches: boolean, ctx: TableOpenContext): Promise<DomainList> {
    const names = new Set<string>();
    const specs: string[] = [];
    for (const item of items) {
      if (/^[a-z0-9]+:/i.test(item) && !item.startsWith('[')) specs.push(item);
      else names.add(item.toLowerCase());
    }
    return new DomainList(names, await openTableList(specs, ctx), parentMatches);
  }

  async matches(domain: string): Promise<boolean> {
    const lower = domain.toLowerCase();
    const candidates = [lower, ...parentDomainKeys(lower, { parentMatchesSubdomains: this.parentMatches })];
    if (candidates.some((name) => this.names.has(name))) return true;
    for (const key of candidates) if ((await this.tables.lookup(key)) !== undefined) return true;
    return false;
  }
}

/** A per-process resolver with a cache of results. */
export class AddressResolver {
  private readonly cache = new Map<string, { readonly result: Resolution; readonly at: number }>();

  private constructor(
    private readonly params: Params,
    private readonly local: DomainList,
    private readonly relay: DomainList,
    private readonly virtualAlias: DomainList,
    private readonly virtualMailbox: DomainList,
    private readonly transportMaps: TableList,
    private readonly senderRelayhosts: TableList,
    private readonly senderDefaultTransports: TableList,
  ) {}

  /** Opens the domain lists and transport_maps of params. */
  static async open(params: Params): Promise<AddressResolver> {
    const parent = (feature: string): boolean => params.parent_domain_matches_subdomains.includes(feature);
    const ctx = tableContext(params);
    const interfaces = [...params.inet_interfaces, ...params.proxy_interfaces]
      .filter((item) => item !== 'all' && item !== 'loopback-only')
      .map((item) => `[${item.replace(/^\[(.*)\]$/, '$1')}]`);
    return new AddressResolver(
      params,
      await DomainList.open([...params.mydestination, ...interfaces], parent('mydestination'), ctx),
      await DomainList.open(params.relay_domains, parent('relay_domains'), ctx),
      await DomainList.open(params.virtual_alias_domains, false, ctx),
      await DomainList.open(params.virtual_mailbox_domains, false, ctx),
      await openTableList(params.transport_maps, ctx),
      await openTableList(params.sender_dependent_relayhost_maps, ctx),
      await openTableList(params.sender_dependent_default_transport_maps, ctx),
    );
  }

  /** True for this machine's own domains (mydestination and the [address] forms of its interfaces). */
  isLocalDomain(domain: string): Promise<boolean> {
    return this.local.matches(domain);
  }

  /** The canonical form of an address (trivial-rewrite's "local" rewrite context). */
  rewrite(address: string): string {
    let addr = address.trim();
    if (addr === '') return addr;
    addr = addr.replace(/^@[^:]+:/, '');
    const { params } = this;
    if (!addr.includes('@')) {
      if (params.swap_bangpath && addr.includes('!')) {
        const bang = addr.indexOf('!');
        addr = `${addr.slice(bang + 1)}@${addr.slice(0, bang)}`;
      } else if (params.allow_percent_hack && addr.includes('%')) {
        const pct = addr.lastIndexOf('%');
        addr = `${addr.slice(0, pct)}@${addr.slice(pct + 1)}`;
      } else if (params.append_at_myorigin) {
        addr = `${addr}@${params.myorigin}`;
      }
    }
    const { local, domain } = splitAddress(addr);
    if (domain !== undefined && params.append_dot_mydomain && !domain.includes('.') && !domain.startsWith('[')) {
      addr = `${local}@${domain}.${params.mydomain}`;
    }
    return addr;
  }

  private async classify(domain: string | undefined): Promise<AddressClass> {
    if (domain === undefined || (await this.local.matches(domain))) return 'local';
    if (await this.virtualAlias.matches(domain)) return 'virtual_alias';
    if (await this.virtualMailbox.matches(domain)) return 'virtual_mailbox';
    if (await this.relay.matches(domain)) return 'relay';
    return 'default';
  }

  /** The keys the sender_dependent_* tables are searched with, in Postfix's order (the address, without its extension, the local part where the domain is ours, @domain); the null sender as <>. */
  private async senderKeys(sender: string): Promise<SearchKey[]> {
    const lower = sender.toLowerCase();
    if (lower === '') return [{ key: '<>', fixedOnly: false }];
    const { domain } = splitAddress(lower);
    const local = domain === undefined || (await this.local.matches(domain));
    return mailAddrKeys(lower, { delimiters: this.params.recipient_delimiter, isLocalDomain: () => local });
  }

  /** A sender_dependent_* table's answer for the sender's keys, undefined for none or DUNNO. */
  private static async bySender(tables: TableList, keys: readonly SearchKey[]): Promise<string | undefined> {
    if (tables.tables.length === 0) return undefined;
    const value = (await findFirst(tables, keys))?.value.trim();
    return value === undefined || value.toUpperCase() === 'DUNNO' ? undefined : value;
  }

  /**
   * Resolves a (rewritten) address to its class, transport and next hop;
   * for mail from sender, with the sender_dependent_* tables.
   */
  async resolve(address: string, sender?: string): Promise<Resolution> {
    const { params } = this;
    const keys = sender !== undefined && (this.senderRelayhosts.tables.length > 0 || this.senderDefaultTransports.tables.length > 0) ? await this.senderKeys(sender) : undefined;
    const fromSender =
      keys === undefined
        ? undefined
        : { relayhost: await AddressResolver.bySender(this.senderRelayhosts, keys), defaultTransport: await AddressResolver.bySender(this.senderDefaultTransports, keys) };
    if (fromSender?.relayhost !== undefined || fromSender?.defaultTransport !== undefined) return this.route(address, fromSender);
    const started = performance.now();
    const cached = this.cache.get(address);
    if (cached !== undefined && started - cached.at < params.petrel_table_cache_time * 1000) return cached.result;
    const result = await this.route(address, {});
    if (this.cache.size > 10_000) this.cache.clear();
    if (params.petrel_table_cache_time > 0) this.cache.set(address, { result, at: started });
    return result;
  }

  /** Where address goes, with relayhost and default_transport as a sender's tables may give them. */
  private async route(address: string, fromSender: { relayhost?: string | undefined; defaultTransport?: string | undefined }): Promise<Resolution> {
    const { params } = this;
    const { domain } = splitAddress(address);
    const addressClass = await this.classify(domain);
    let chosen: { transport: string; nexthop: string };
    if (addressClass === 'local') chosen = splitTransport(params.local_transport);
    else if (addressClass === 'virtual_alias') chosen = { transport: 'error', nexthop: '5.1.1 User unknown in virtual alias table' };
    else if (addressClass === 'virtual_mailbox') chosen = splitTransport(params.virtual_transport);
    else if (addressClass === 'relay') chosen = splitTransport(params.relay_transport);
    else chosen = splitTransport(fromSender.defaultTransport ?? params.default_transport);
    // A next hop the transport names wins; else relayhost for mail that leaves, else the domain.
    const relayhost = fromSender.relayhost ?? params.relayhost;
    if (chosen.nexthop === '' && (addressClass === 'relay' || addressClass === 'default') && relayhost !== '') chosen = { ...chosen, nexthop: relayhost };
    if (chosen.nexthop === '') chosen = { ...chosen, nexthop: addressClass === 'local' ? params.myhostname : (domain ?? '') };
    const found = await findFirst(this.transportMaps, transportKeys(address.toLowerCase(), { delimiters: params.recipient_delimiter, parentMatchesSubdomains: false }));
    if (found !== undefined) {
      const override = splitTransport(found.value);
      // "transport:" with an empty next hop sends the mail to the recipient's domain, relayhost notwithstanding (transport(5)).
      const nexthop = override.nexthop !== '' ? override.nexthop : override.transport !== '' && addressClass !== 'local' ? (domain ?? '') : chosen.nexthop;
      chosen = { transport: override.transport || chosen.transport, nexthop };
    }
    return { addressClass, ...chosen, recipient: address };
  }
}
