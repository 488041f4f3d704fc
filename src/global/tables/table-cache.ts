/*
 * table-cache - a per-process cache of the answers of the tables that ask
 * a server (mysql:, pgsql:, redis:, socketmap:, tcp:), which Petrel keeps
 * where Postfix would put proxymap(8) between its daemons and the
 * database, and of sqlite: tables (a query there, with its statement
 * prepared and the file checked for a change, costs some 15 times a
 * cache hit). An answer, found or not found, is reused for at most
 * petrel_table_cache_time after the query that produced it was sent, so a
 * change on the server is seen within that bound; a temporary error is
 * never kept. Lookups of a key that is being queried wait for that query
 * instead of sending another. The cache holds at most CACHE_ENTRIES
 * answers for all tables together, the least recently used going first.
 * Keyed by the table's type:name, its key folding and the key. Applied by
 * table-registry.ts to the types in CACHED_TABLE_TYPES.
 */
import type { LookupTable } from './table.js';

/** The table types whose answers are cached: each lookup costs a round trip to a server, or an SQL query. */
export const CACHED_TABLE_TYPES: ReadonlySet<string> = new Set(['mysql', 'pgsql', 'redis', 'socketmap', 'sqlite', 'tcp']);

/** The most answers kept by one process (a few MB at most). */
const CACHE_ENTRIES = 10_000;

/** One answer, or the query that will give it, with when the query was sent. */
interface CacheEntry {
  readonly sentAt: number;
  readonly answer: Promise<string | undefined>;
}

/** The answers of every cached table of the process, in least recently used order. */
const entries = new Map<string, CacheEntry>();

/** The answer for id, from the cache when no older than maxAgeMs, else from query. */
function cachedLookup(id: string, maxAgeMs: number, query: () => Promise<string | undefined>): Promise<string | undefined> {
  const now = performance.now();
  const found = entries.get(id);
  entries.delete(id);
  if (found !== undefined && now - found.sentAt < maxAgeMs) {
    entries.set(id, found);
    return found.answer;
  }
  const entry: CacheEntry = { sentAt: now, answer: query() };
  entries.set(id, entry);
  if (entries.size > CACHE_ENTRIES) entries.delete(entries.keys().next().value as string);
  entry.answer.catch(() => {
    if (entries.get(id) === entry) entries.delete(id);
  });
  return entry.answer;
}

/** table with its answers cached for maxAgeSeconds; folded tells tables that fold keys from those that do not (postmap -f). */
export function cacheAnswers(table: LookupTable, maxAgeSeconds: number, folded: boolean): LookupTable {
  const prefix = `${folded ? 'f' : 'n'}\0${table.spec}\0`;
  const maxAgeMs = maxAgeSeconds * 1000;
  return {
    spec: table.spec,
    pattern: table.pattern,
    lookup: (key) => cachedLookup(prefix + key, maxAgeMs, () => table.lookup(key)),
    close: () => table.close(),
  };
}
