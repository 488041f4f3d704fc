/*
 * table-texthash - texthash:/path, a table read straight from its source
 * file into memory (no postmap step), re-read when the file changes. Same
 * source syntax as postmap(1); follows Postfix's texthash description in
 * DATABASE_README.
 */
import { reloadingFile } from './table-file-watch.js';
import { readTableSource } from './table-source.js';
import type { LookupTable, TableOpenContext } from './table.js';

function load(path: string, foldKeys: boolean): Map<string, string> {
  return new Map(readTableSource(path, { foldKeys }).map((entry) => [entry.key, entry.value]));
}

/** Opens texthash:path. */
export async function openTexthash(path: string, spec: string, ctx: TableOpenContext): Promise<LookupTable> {
  const fold = ctx.foldKeys ?? true;
  const entries = reloadingFile(path, spec, (file) => load(file, fold));
  return { spec, pattern: false, lookup: async (key) => entries().get(fold ? key.toLowerCase() : key), close: async () => {} };
}
