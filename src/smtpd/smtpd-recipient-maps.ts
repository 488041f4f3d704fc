/*
 * smtpd-recipient-maps - smtpd_reject_unlisted_recipient and
 * smtpd_reject_unlisted_sender (and the reject_unlisted_recipient /
 * reject_unlisted_sender restrictions): a recipient (or sender) the tables of its
 * address class do not list is refused at RCPT, so mail for unknown users
 * is never accepted and then bounced. Any recipient that
 * recipient_canonical_maps, canonical_maps or virtual_alias_maps lists is
 * known; otherwise a local recipient must be in local_recipient_maps
 * (postmaster always is, RFC 5321 4.5.1), a virtual mailbox one in
 * virtual_mailbox_maps, a relay one in relay_recipient_maps (an empty
 * parameter accepts every recipient of its class), and a virtual alias
 * domain has no recipient but those virtual_alias_maps lists. A table that
 * cannot answer gives 451 4.3.0, never "unknown". Called by
 * smtpd-check-config.ts; follows Postfix's smtpd(8) "RECIPIENT ADDRESS CHECKS".
 */
import { findFirst } from '../global/addr/addr-find.js';
import { splitAddress, splitExtension } from '../global/addr/addr-parts.js';
import type { AddressClass, AddressResolver } from '../global/addr/addr-resolve.js';
import { mailAddrKeys } from '../global/addr/addr-search-keys.js';
import type { Params } from '../global/params/param-registry.js';
import { openTableList, TableList } from '../global/tables/table-list.js';
import { tableContext } from '../global/tables/table.js';
import type { CheckReply } from './smtpd-check-types.js';

/** The tables that say which recipients exist. */
export interface RecipientMaps {
  readonly local: TableList;
  readonly virtualAlias: TableList;
  readonly virtualMailbox: TableList;
  readonly relay: TableList;
  /** recipient_canonical_maps then canonical_maps. */
  readonly canonical: TableList;
}

/** Opens the recipient tables params names. */
export async function openRecipientMaps(params: Params): Promise<RecipientMaps> {
  const open = (specs: readonly string[]): Promise<TableList> => openTableList(specs, tableContext(params));
  return {
    local: await open(params.local_recipient_maps),
    virtualAlias: await open(params.virtual_alias_maps),
    virtualMailbox: await open(params.virtual_mailbox_maps),
    relay: await open(params.relay_recipient_maps),
    canonical: await open([...params.recipient_canonical_maps, ...params.canonical_maps]),
  };
}

/** No tables: every recipient is accepted (sendmail -bs, whose mail is local). */
export const NO_RECIPIENT_MAPS: RecipientMaps = {
  local: new TableList([]),
  virtualAlias: new TableList([]),
  virtualMailbox: new TableList([]),
  relay: new TableList([]),
  canonical: new TableList([]),
};

/** How a class other than local refuses an unlisted recipient: its own tables (none for virtual alias domains), the reply code and the table's name in the reply. */
interface ClassRule {
  readonly tables: (maps: RecipientMaps) => TableList | undefined;
  readonly code: (params: Params) => number;
  readonly table: string;
}

const RULES: Partial<Record<AddressClass, ClassRule>> = {
  virtual_alias: { tables: () => undefined, code: (p) => p.unknown_virtual_alias_reject_code, table: 'virtual alias table' },
  virtual_mailbox: { tables: (maps) => maps.virtualMailbox, code: (p) => p.unknown_virtual_mailbox_reject_code, table: 'virtual mailbox table' },
  relay: { tables: (maps) => maps.relay, code: (p) => p.unknown_relay_recipient_reject_code, table: 'relay recipient table' },
};

/** True when a local recipient is in local_recipient_maps (as user, user without extension, or the whole address). */
async function knownLocal(maps: RecipientMaps, params: Params, address: string): Promise<boolean> {
  const lower = splitAddress(address).local.toLowerCase();
  if (lower === 'postmaster') return true;
  const base = splitExtension(lower, params.recipient_delimiter).base;
  for (const key of new Set([lower, base, address.toLowerCase()])) {
    if ((await maps.local.lookup(key)) !== undefined) return true;
  }
  return false;
}

/** "User unknown in ..." for a recipient (5.1.1) or a sender (5.1.0), the enhanced code's class following the reply code. */
function userUnknown(code: number, role: 'recipient' | 'sender', address: string, table: string): CheckReply {
  const detail = role === 'recipient' ? '1.1' : '1.0';
  return { code, dsn: `${String(code)[0] as string}.${detail}`, text: `<${address}>: ${role === 'recipient' ? 'Recipient' : 'Sender'} address rejected: User unknown in ${table}` };
}

/**
 * The reply refusing a recipient or sender (rewritten to canonical form)
 * when the tables of its class do not list it, or undefined; throws the
 * tables' temporary errors.
 */
export async function unlistedAddress(
  params: Params,
  resolver: AddressResolver,
  maps: RecipientMaps,
  localDomains: ReadonlySet<string>,
  recipient: string,
  role: 'recipient' | 'sender',
): Promise<CheckReply | undefined> {
  const address = resolver.rewrite(recipient);
  const { addressClass } = await resolver.resolve(address);
  if (addressClass === 'default') return undefined;
  const rule = RULES[addressClass];
  const own = addressClass === 'local' ? maps.local : rule?.tables(maps);
  // An empty parameter accepts every recipient of its class.
  if (own !== undefined && own.tables.length === 0) return undefined;
  const keys = mailAddrKeys(address.toLowerCase(), { delimiters: params.recipient_delimiter, isLocalDomain: (d) => localDomains.has(d.toLowerCase()) });
  for (const tables of [maps.canonical, maps.virtualAlias]) {
    if (tables.tables.length > 0 && (await findFirst(tables, keys)) !== undefined) return undefined;
  }
  if (addressClass === 'local') {
    if (await knownLocal(maps, params, address)) return undefined;
    return userUnknown(params.unknown_local_recipient_reject_code, role, recipient, 'local recipient table');
  }
  if (rule === undefined) return undefined;
  if (own !== undefined && (await findFirst(own, keys)) !== undefined) return undefined;
  return userUnknown(rule.code(params), role, recipient, rule.table);
}
