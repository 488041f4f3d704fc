/*
 * table-sql-domain - the `domain` setting of SQL tables: a list of domain
 * names, /file/name entries (the file's names take their place) and
 * type:name tables, each optionally negated with !. Only keys of the form
 * user@domain with a non-empty user part and a listed domain are looked
 * up; the first entry that matches decides. Names match whole domains,
 * ignoring case (no parent-domain matching), as Postfix's string_list(3)
 * in db_common(3). A table in the list that cannot answer is a temporary
 * error. Used by table-sql.ts.
 */
import { splitList } from '../config/param-convert.js';
import { readSourceText } from './table-source.js';
import type { LookupTable } from './table.js';

type Entry = { readonly negated: boolean } & ({ readonly name: string } | { readonly table: LookupTable });

/** The domains whose addresses a SQL table may be queried for. */
export class SqlDomainFilter {
  private constructor(private readonly entries: readonly Entry[]) {}

  /** Builds the filter from the setting's items; open opens type:name entries. */
  static async open(items: readonly string[], open: (spec: string) => Promise<LookupTable>): Promise<SqlDomainFilter> {
    const entries: Entry[] = [];
    try {
      for (const item of expandFiles(items)) {
        const negated = item.startsWith('!');
        const body = negated ? item.slice(1) : item;
        if (/^[a-z0-9_-]+:/i.test(body)) entries.push({ negated, table: await open(body) });
        else entries.push({ negated, name: body.toLowerCase() });
      }
    } catch (err) {
      await closeEntries(entries);
      throw err;
    }
    return new SqlDomainFilter(entries);
  }

  /** True when key may be looked up: user@domain, user not empty, domain listed. */
  async admits(key: string): Promise<boolean> {
    const at = key.lastIndexOf('@');
    if (at <= 0) return false;
    const domain = key.slice(at + 1).toLowerCase();
    for (const entry of this.entries) {
      const matched = 'name' in entry ? entry.name === domain : (await entry.table.lookup(domain)) !== undefined;
      if (matched) return !entry.negated;
    }
    return false;
  }

  /** Closes the tables of the list. */
  close(): Promise<void> {
    return closeEntries(this.entries);
  }
}

/** The items with each /file/name replaced by the names in that file (# comments and blank lines skipped). */
function expandFiles(items: readonly string[]): string[] {
  return items.flatMap((item) => {
    const negated = item.startsWith('!');
    const body = negated ? item.slice(1) : item;
    if (!body.startsWith('/')) return [item];
    const names = readSourceText(body)
      .split('\n')
      .filter((line) => !/^\s*(#|$)/.test(line))
      .flatMap((line) => splitList(line));
    return expandFiles(negated ? names.map((name) => `!${name}`) : names);
  });
}

async function closeEntries(entries: readonly Entry[]): Promise<void> {
  await Promise.all(entries.map((entry) => ('table' in entry ? entry.table.close() : undefined)));
}
