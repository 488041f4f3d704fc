/*
 * virtual-lookup - where and as whom the virtual delivery agent writes one
 * recipient's mail: virtual_mailbox_maps gives the mailbox below
 * virtual_mailbox_base (a trailing "/" means Maildir), virtual_uid_maps and
 * virtual_gid_maps the owner (at least virtual_minimum_uid), and
 * virtual_mailbox_limit_maps a per-mailbox limit (above virtual_mailbox_limit
 * only with virtual_mailbox_limit_override). Each table is searched as
 * virtual(8) "TABLE SEARCH ORDER" says: user+extension@domain,
 * user@domain, then @domain (the catch-all). An address missing from
 * virtual_mailbox_maps bounces (5.1.1); a table that cannot answer
 * defers (4.3.0); a missing or bad uid, gid or limit, or a mailbox that
 * climbs out of virtual_mailbox_base, is a configuration error the mail
 * waits out (4.3.5), as in Postfix.
 */
import { findFirst } from '../global/addr/addr-find.js';
import { mailAddrKeys } from '../global/addr/addr-search-keys.js';
import { isTemporary } from '../global/errors.js';
import type { Outcome } from '../global/mailbox-outcome.js';
import type { Params } from '../global/params/param-registry.js';
import type { TableList } from '../global/tables/table-list.js';
import { msg } from '../util/msg.js';

/** The tables virtual delivery reads. */
export interface VirtualTables {
  readonly mailboxes: TableList;
  readonly uids: TableList;
  readonly gids: TableList;
  readonly limits: TableList;
}

/** Where one recipient's mail goes. */
export interface VirtualMailbox {
  /** The full path; ends in "/" for a Maildir. */
  readonly path: string;
  readonly maildir: boolean;
  readonly uid: number;
  readonly gid: number;
  /** The limit in bytes (0: none). */
  readonly limit: number;
  /** True when the limit came from virtual_mailbox_limit_maps. */
  readonly perUserLimit: boolean;
}

/** What virtual lookup needs of the parameters. */
export type VirtualLookupParams = Pick<
  Params,
  'recipient_delimiter' | 'virtual_mailbox_base' | 'virtual_minimum_uid' | 'virtual_mailbox_limit' | 'virtual_mailbox_limit_override'
>;

const CONFIG_ERROR: Outcome = { status: 'deferred', dsn: '4.3.5', reason: 'mail system configuration error' };

/** Thrown inside this module for a configuration error; logged, then the recipient waits (4.3.5). */
class LookupConfigError extends Error {}

async function find(tables: TableList, address: string, delimiters: string): Promise<string | undefined> {
  const found = await findFirst(tables, mailAddrKeys(address.toLowerCase(), { delimiters, isLocalDomain: () => false }));
  return found?.value.trim();
}

async function findId(tables: TableList, name: string, address: string, params: VirtualLookupParams): Promise<number> {
  const value = await find(tables, address, params.recipient_delimiter);
  if (value === undefined) throw new LookupConfigError(`recipient ${address}: not found in ${name}`);
  if (!/^\d+$/.test(value)) throw new LookupConfigError(`recipient ${address}: bad ${name} result "${value}"`);
  const id = Number(value);
  if (name === 'virtual_uid_maps' && id < params.virtual_minimum_uid) throw new LookupConfigError(`recipient ${address}: bad uid ${id} in virtual_uid_maps (below virtual_minimum_uid ${params.virtual_minimum_uid})`);
  return id;
}

async function findLimit(tables: TableList, address: string, params: VirtualLookupParams): Promise<{ limit: number; perUser: boolean }> {
  const global = params.virtual_mailbox_limit;
  if (tables.tables.length === 0) return { limit: global, perUser: false };
  const value = await find(tables, address, params.recipient_delimiter);
  if (value === undefined) return { limit: global, perUser: false };
  if (!/^\d+$/.test(value)) throw new LookupConfigError(`recipient ${address}: bad virtual_mailbox_limit_maps result "${value}"`);
  const own = Number(value);
  if (!params.virtual_mailbox_limit_override && global > 0 && (own === 0 || own > global)) {
    msg.warn(`recipient ${address}: virtual_mailbox_limit_maps limit ${own === 0 ? '0 (none)' : own} is above virtual_mailbox_limit ${global}, which applies (set virtual_mailbox_limit_override = yes to allow it)`);
    return { limit: global, perUser: true };
  }
  return { limit: own, perUser: true };
}

/** The mailbox path: base and result joined, refused when a ".." part would leave the base. */
function mailboxPath(base: string, result: string, address: string): string {
  if (result === '' || result.split('/').includes('..')) throw new LookupConfigError(`recipient ${address}: bad virtual_mailbox_maps result "${result}"`);
  return `${base.replace(/\/+$/, '')}/${result.replace(/^\/+/, '')}`;
}

/** The mailbox of address, or the outcome that ends its delivery here. */
export async function findMailbox(tables: VirtualTables, params: VirtualLookupParams, address: string): Promise<VirtualMailbox | Outcome> {
  try {
    const result = await find(tables.mailboxes, address, params.recipient_delimiter);
    if (result === undefined) return { status: 'bounced', dsn: '5.1.1', reason: `unknown user: "${address.toLowerCase()}"` };
    const path = mailboxPath(params.virtual_mailbox_base, result, address);
    const uid = await findId(tables.uids, 'virtual_uid_maps', address, params);
    const gid = await findId(tables.gids, 'virtual_gid_maps', address, params);
    const { limit, perUser } = await findLimit(tables.limits, address, params);
    return { path, maildir: path.endsWith('/'), uid, gid, limit, perUserLimit: perUser };
  } catch (err) {
    if (err instanceof LookupConfigError) {
      msg.warn(err.message);
      return CONFIG_ERROR;
    }
    if (isTemporary(err)) {
      msg.warn(`recipient ${address}: ${(err as Error).message}`);
      return { status: 'deferred', dsn: '4.3.0', reason: 'table lookup failure' };
    }
    throw err;
  }
}
