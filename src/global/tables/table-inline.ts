/*
 * table-inline - inline:{ key=value, { key = value with spaces } }: a small
 * fixed-key table written in the table name (Postfix 3.0 and later). Keys
 * are case-folded like other fixed-key tables; an item without "=" is an
 * error.
 */
import { PetrelError } from '../errors.js';
import { splitBraceList } from './table-braces.js';
import type { LookupTable, TableOpenContext } from './table.js';

/** Opens inline:{...}. */
export async function openInline(name: string, spec: string, ctx: TableOpenContext): Promise<LookupTable> {
  const fold = (key: string): string => ((ctx.foldKeys ?? true) ? key.toLowerCase() : key);
  const entries = new Map<string, string>();
  for (const item of splitBraceList(name, spec)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new PetrelError('table_spec', `${spec}: expected key=value, found "${item}"`);
    entries.set(fold(item.slice(0, eq).trim()), item.slice(eq + 1).trim());
  }
  return { spec, pattern: false, lookup: async (key) => entries.get(fold(key)), close: async () => {} };
}
