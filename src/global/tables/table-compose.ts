/*
 * table-compose - tables made of other tables: unionmap:{ t1, t2 } (every
 * table is queried, the values found are joined with commas), pipemap:{ t1,
 * t2 } (each table's value is the next one's key; not found anywhere along
 * the pipe is not found), and proxy:type:name, which Petrel opens directly
 * (there is no proxymap daemon; the inner table is queried in-process).
 * A failure of any inner table is a failure of the whole, never "not found".
 */
import { PetrelError } from '../errors.js';
import { splitBraceList } from './table-braces.js';
import type { TableOpenerContext } from './table-registry.js';
import type { LookupTable } from './table.js';

async function openAll(name: string, spec: string, ctx: TableOpenerContext): Promise<LookupTable[]> {
  const specs = splitBraceList(name, spec);
  if (specs.length === 0) throw new PetrelError('table_spec', `${spec}: empty table list`);
  const tables: LookupTable[] = [];
  try {
    for (const inner of specs) tables.push(await ctx.open(inner));
  } catch (err) {
    await Promise.all(tables.map((table) => table.close()));
    throw err;
  }
  return tables;
}

function closeAll(tables: readonly LookupTable[]): () => Promise<void> {
  return async () => {
    await Promise.all(tables.map((table) => table.close()));
  };
}

/** Opens unionmap:{ ... }. */
export async function openUnionmap(name: string, spec: string, ctx: TableOpenerContext): Promise<LookupTable> {
  const tables = await openAll(name, spec, ctx);
  return {
    spec,
    pattern: tables.every((table) => table.pattern),
    async lookup(key) {
      const found: string[] = [];
      for (const table of tables) {
        const value = await table.lookup(key);
        if (value !== undefined) found.push(value);
      }
      return found.length === 0 ? undefined : found.join(',');
    },
    close: closeAll(tables),
  };
}

/** Opens pipemap:{ ... }. */
export async function openPipemap(name: string, spec: string, ctx: TableOpenerContext): Promise<LookupTable> {
  const tables = await openAll(name, spec, ctx);
  return {
    spec,
    pattern: tables[0]?.pattern ?? true,
    async lookup(key) {
      let value: string | undefined = key;
      for (const table of tables) {
        value = await table.lookup(value);
        if (value === undefined) return undefined;
      }
      return value;
    },
    close: closeAll(tables),
  };
}

/** Opens proxy:type:name as type:name. */
export async function openProxy(name: string, spec: string, ctx: TableOpenerContext): Promise<LookupTable> {
  if (name.startsWith('proxy:')) throw new PetrelError('table_spec', `${spec}: proxy: may not be nested`);
  const inner = await ctx.open(name);
  return { spec, pattern: inner.pattern, lookup: (key) => inner.lookup(key), close: () => inner.close() };
}
