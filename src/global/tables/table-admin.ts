/*
 * table-admin - what postmap(1) and postalias(1) do to tables, shared by
 * both: build an indexed table from its source (atomically, with the source
 * file's permissions unless told otherwise), add entries incrementally,
 * delete keys, dump every entry, and query a list of tables for a key.
 * Only hash, btree and lmdb can be built or changed; any type the registry
 * knows can be queried.
 */
import { chmodSync, chownSync, statSync } from 'node:fs';
import { PetrelError } from '../errors.js';
import { msg } from '../../util/msg.js';
import { deleteFromIndexedFile, dumpIndexedFile, indexedFile, INDEXED_SUFFIXES, rebuildIndexedFile, updateIndexedFile } from './table-lmdb.js';
import { splitTableSpec } from './table-registry.js';
import { readTableSource, type SourceEntry } from './table-source.js';
import type { LookupTable } from './table.js';

/** A table named on a command line: type:name, or a bare name with the default type. */
export interface TableArg {
  readonly type: string;
  readonly name: string;
  readonly spec: string;
}

/** Parses a command-line table argument. */
export function parseTableArg(arg: string, defaultType: string): TableArg {
  if (/^[A-Za-z0-9_-]+:/.test(arg)) {
    const { type, name } = splitTableSpec(arg);
    return { type, name, spec: `${type}:${name}` };
  }
  return { type: defaultType, name: arg, spec: `${defaultType}:${arg}` };
}

/** The indexed file behind table; an error for types that cannot be built or changed. */
export function requireIndexed(table: TableArg, what: string): string {
  if (INDEXED_SUFFIXES[table.type] === undefined) {
    throw new PetrelError('usage', `unsupported dictionary type: ${table.type} does not support ${what}.`);
  }
  return indexedFile(table.type, table.name);
}

/** Builds table from entries, replacing its contents; the file takes the source's owner and mode unless keepDefaultMode. */
export async function buildTable(table: TableArg, entries: readonly SourceEntry[], source: string, keepDefaultMode: boolean): Promise<void> {
  const file = requireIndexed(table, 'bulk-mode creation');
  await rebuildIndexedFile(file, entries.map((entry) => [entry.key, entry.value] as const));
  if (keepDefaultMode) return;
  try {
    const st = statSync(source);
    chmodSync(file, st.mode & 0o7777);
    if (process.getuid?.() === 0) chownSync(file, st.uid, st.gid);
  } catch (err) {
    msg.warn(`${file}: cannot copy permissions from ${source}: ${(err as Error).message}`);
  }
}

/** Adds entries to table (created when missing); existing keys are warned about and kept, or replaced with replace. */
export async function addToTable(table: TableArg, entries: readonly SourceEntry[], replace: boolean, warn: boolean): Promise<void> {
  const file = requireIndexed(table, 'incremental updates');
  const kept = await updateIndexedFile(file, entries.map((entry) => [entry.key, entry.value] as const), replace);
  if (warn) for (const key of kept) msg.warn(`${file}: duplicate entry: "${key}"`);
}

/** Deletes keys from table; the number that existed. */
export function deleteFromTable(table: TableArg, keys: readonly string[]): Promise<number> {
  return deleteFromIndexedFile(requireIndexed(table, 'deletion'), keys);
}

/** Every entry of table: indexed files in key order, texthash in file order. */
export function dumpTable(table: TableArg): Iterable<readonly [string, string]> {
  if (table.type === 'texthash') return readTableSource(table.name, { warnDuplicates: false }).map((e) => [e.key, e.value] as const);
  if (INDEXED_SUFFIXES[table.type] === undefined) {
    throw new PetrelError('usage', `table ${table.spec}: sequence operation is not supported`);
  }
  return dumpIndexedFile(indexedFile(table.type, table.name));
}

/** The first value for key in tables, in order; a table that fails stops the search with its error. */
export async function queryTables(tables: readonly LookupTable[], key: string): Promise<string | undefined> {
  for (const table of tables) {
    let value: string | undefined;
    try {
      value = await table.lookup(key);
    } catch (err) {
      throw new PetrelError('table_lookup', `table ${table.spec}: query error: ${(err as Error).message}`, { cause: err });
    }
    if (value !== undefined) return value;
  }
  return undefined;
}
