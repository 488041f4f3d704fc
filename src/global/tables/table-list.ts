/*
 * table-list - a parameter's list of lookup tables (alias_maps,
 * virtual_alias_maps, smtpd access maps ...): each key is tried in each
 * table in order and the first answer wins, as Postfix's maps(3). A table
 * that cannot answer stops the search with its temporary error rather than
 * letting a later table answer in its place. Used through addr-find.ts.
 */
import type { KeyedTables } from '../addr/addr-find.js';
import { openTable } from './table-registry.js';
import type { LookupTable, TableOpenContext } from './table.js';

/** An ordered list of open tables, looked up as one. */
export class TableList implements KeyedTables {
  readonly tables: readonly LookupTable[];

  constructor(tables: readonly LookupTable[]) {
    this.tables = tables;
  }

  /** The first table's value for key; fixedOnly skips pattern tables (regexp, pcre, cidr ...). */
  async lookup(key: string, options: { readonly fixedOnly?: boolean } = {}): Promise<string | undefined> {
    for (const table of this.tables) {
      if (options.fixedOnly === true && table.pattern) continue;
      const value = await table.lookup(key);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  /** Closes every table in the list. */
  async close(): Promise<void> {
    await Promise.all(this.tables.map((table) => table.close()));
  }
}

/** Opens every type:name in specs, in order. */
export async function openTableList(specs: readonly string[], ctx: TableOpenContext): Promise<TableList> {
  const tables: LookupTable[] = [];
  try {
    for (const spec of specs) tables.push(await openTable(spec, ctx));
  } catch (err) {
    await Promise.all(tables.map((table) => table.close()));
    throw err;
  }
  return new TableList(tables);
}
