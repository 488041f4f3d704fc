/*
 * addr-find - runs a search-key sequence (addr-search-keys.ts) against a list
 * of lookup tables: each key is tried in every table before the next key, as
 * Postfix's maps do, partial keys skip pattern tables, and a table that
 * cannot answer raises its temporary error instead of reading as "not found".
 */
import type { SearchKey } from './addr-search-keys.js';

/** What addr-find needs of a table list: a lookup that can skip pattern tables. */
export interface KeyedTables {
  lookup(key: string, options?: { readonly fixedOnly?: boolean }): Promise<string | undefined>;
}

/** The first hit: its value and the key that found it. */
export interface FindResult {
  readonly value: string;
  readonly key: SearchKey;
}

/** Tries keys in order; the first value found wins; undefined when none matches. */
export async function findFirst(tables: KeyedTables, keys: readonly SearchKey[]): Promise<FindResult | undefined> {
  for (const key of keys) {
    const value = await tables.lookup(key.key, { fixedOnly: key.fixedOnly });
    if (value !== undefined) return { value, key };
  }
  return undefined;
}
