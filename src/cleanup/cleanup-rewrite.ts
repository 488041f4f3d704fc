/*
 * cleanup-rewrite - the address work cleanup(8) does on the envelope:
 * canonical_maps with sender_canonical_maps / recipient_canonical_maps,
 * masquerade_domains for the classes in masquerade_classes, and
 * virtual_alias_maps expansion of each recipient (recursive, each result
 * looked up again, with virtual_alias_recursion_limit and
 * virtual_alias_expansion_limit, duplicates dropped, an address that maps
 * to itself kept), in virtual(5)/canonical(5) search order with the address
 * extension carried over per propagate_unmatched_extensions; and the blind
 * copies sender_bcc_maps and recipient_bcc_maps ask for, looked up by the
 * envelope address after canonical mapping.
 */
import { findFirst } from '../global/addr/addr-find.js';
import { splitAddress, splitExtension } from '../global/addr/addr-parts.js';
import type { AddressResolver } from '../global/addr/addr-resolve.js';
import { masquerade } from '../global/addr/addr-masquerade.js';
import { mailAddrKeys } from '../global/addr/addr-search-keys.js';
import type { Params } from '../global/params/param-registry.js';
import { splitAliasValue } from '../global/tables/alias-source.js';
import { openTableList, type TableList } from '../global/tables/table-list.js';
import { tableContext } from '../global/tables/table.js';

/** Raised when an expansion goes past its limits; the message is rejected or deferred with this text. */
export class ExpansionError extends Error {
  constructor(
    readonly dsn: string,
    message: string,
  ) {
    super(message);
  }
}

/** The rewriting tables of one cleanup process. */
export class CleanupRewriter {
  private constructor(
    private readonly params: Params,
    private readonly resolver: AddressResolver,
    private readonly canonical: TableList,
    private readonly senderCanonical: TableList,
    private readonly recipientCanonical: TableList,
    private readonly virtual: TableList,
    private readonly senderBccMaps: TableList,
    private readonly recipientBccMaps: TableList,
  ) {}

  static async open(params: Params, resolver: AddressResolver): Promise<CleanupRewriter> {
    const ctx = tableContext(params);
    return new CleanupRewriter(
      params,
      resolver,
      await openTableList(params.canonical_maps, ctx),
      await openTableList(params.sender_canonical_maps, ctx),
      await openTableList(params.recipient_canonical_maps, ctx),
      await openTableList(params.virtual_alias_maps, ctx),
      await openTableList(params.sender_bcc_maps, ctx),
      await openTableList(params.recipient_bcc_maps, ctx),
    );
  }

  private async mapOnce(tables: TableList, address: string, feature: string): Promise<string[] | undefined> {
    if (tables.tables.length === 0 || address === '') return undefined;
    const resolver = this.resolver;
    const { domain } = splitAddress(address);
    const local = domain === undefined ? true : await resolver.isLocalDomain(domain);
    const keys = mailAddrKeys(address.toLowerCase(), { delimiters: this.params.recipient_delimiter, isLocalDomain: () => local });
    const found = await findFirst(tables, keys);
    if (found === undefined) return undefined;
    const extension = found.key.strippedExtension;
    const propagate = extension !== undefined && this.params.propagate_unmatched_extensions.includes(feature);
    return splitAliasValue(found.value).map((item) => {
      let result = item.includes('@') ? item : `${item}@${this.params.myorigin}`;
      if (propagate) {
        const parts = splitAddress(result);
        if (splitExtension(parts.local, this.params.recipient_delimiter).extension === undefined) {
          result = `${parts.local}${extension}@${parts.domain ?? ''}`;
        }
      }
      return result;
    });
  }

  /** address masqueraded when masquerade_classes lists its class. */
  masquerade(address: string, addressClass: string): string {
    if (!this.params.masquerade_classes.includes(addressClass)) return address;
    return masquerade(address, { domains: this.params.masquerade_domains, exceptions: this.params.masquerade_exceptions });
  }

  /** address in canonical form only (trivial-rewrite's rewrite), for receive_override_options no_address_mappings. */
  rewriteOnly(address: string): string {
    return this.resolver.rewrite(address);
  }

  /** The sender in canonical form (trivial-rewrite's rewrite) after canonical mapping and masquerading. */
  async sender(original: string): Promise<string> {
    const address = this.resolver.rewrite(original);
    const classes = this.params.canonical_classes;
    const viaSender = await this.mapOnce(this.senderCanonical, address, 'canonical');
    let mapped = viaSender?.[0];
    if (mapped === undefined && classes.includes('envelope_sender')) mapped = (await this.mapOnce(this.canonical, address, 'canonical'))?.[0];
    return this.masquerade(mapped ?? address, 'envelope_sender');
  }

  /** An envelope recipient (in canonical form) after canonical mapping and masquerading. */
  private async canonicalRecipient(address: string): Promise<string> {
    let canonical = (await this.mapOnce(this.recipientCanonical, address, 'canonical'))?.[0];
    if (canonical === undefined && this.params.canonical_classes.includes('envelope_recipient')) {
      canonical = (await this.mapOnce(this.canonical, address, 'canonical'))?.[0];
    }
    return this.masquerade(canonical ?? address, 'envelope_recipient');
  }

  /** The addresses sender_bcc_maps gives a blind copy to for this (mapped) envelope sender. */
  async senderBcc(sender: string): Promise<string[]> {
    return (await this.mapOnce(this.senderBccMaps, sender, 'bcc')) ?? [];
  }

  /** The addresses recipient_bcc_maps gives a blind copy to for this envelope recipient (looked up after canonical mapping). */
  async recipientBcc(original: string): Promise<string[]> {
    if (this.recipientBccMaps.tables.length === 0) return [];
    return (await this.mapOnce(this.recipientBccMaps, await this.canonicalRecipient(this.resolver.rewrite(original)), 'bcc')) ?? [];
  }

  /** The recipients an envelope recipient becomes: canonical form, canonical mapping, then virtual alias expansion. */
  async recipients(original: string): Promise<string[]> {
    const address = this.resolver.rewrite(original);
    const start = await this.canonicalRecipient(address);
    const results: string[] = [];
    const expand = async (addr: string, depth: number, seen: ReadonlySet<string>): Promise<void> => {
      if (depth > this.params.virtual_alias_recursion_limit) {
        throw new ExpansionError('5.4.6', `virtual alias recursion limit exceeded for ${address}`);
      }
      const mapped = seen.has(addr.toLowerCase()) ? undefined : await this.mapOnce(this.virtual, addr, 'virtual');
      if (mapped === undefined || (mapped.length === 1 && mapped[0]?.toLowerCase() === addr.toLowerCase())) {
        if (!results.some((r) => r.toLowerCase() === addr.toLowerCase())) results.push(addr);
        if (results.length > this.params.virtual_alias_expansion_limit) {
          throw new ExpansionError('5.4.6', `virtual alias expansion limit exceeded for ${address}`);
        }
        return;
      }
      const next = new Set(seen).add(addr.toLowerCase());
      for (const item of mapped) await expand(item, depth + 1, next);
    };
    await expand(start, 0, new Set());
    return results;
  }
}
