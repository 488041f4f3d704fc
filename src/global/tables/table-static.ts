/*
 * table-static - static:value and static:{ value with spaces }: every
 * lookup returns the value (Postfix's static table type).
 */
import type { LookupTable } from './table.js';

/** Opens static:name. */
export async function openStatic(name: string, spec: string): Promise<LookupTable> {
  const trimmed = name.trim();
  const value = trimmed.startsWith('{') && trimmed.endsWith('}') ? trimmed.slice(1, -1).trim() : name;
  return { spec, pattern: true, lookup: async () => value, close: async () => {} };
}
