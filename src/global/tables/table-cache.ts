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
import { ExpiringCache } from '../../util/expiring-cache.js';
import type { LookupTable } from './table.js';

/** The table types whose answers are cached: each lookup costs a round trip to a server, or an SQL query. */
export const CACHED_TABLE_TYPES: ReadonlySet<string> = new Set(['mysql', 'pgsql', 'redis', 'socketmap', 'sqlite', 'tcp']);

/** The most answers kept by one process (a few MB at most). */
const CACHE_ENTRIES = 10_000;

/** The answers (or the queries that will give them) of every cached table of the process, each for maxAgeMs after its query was sent. */
const answers = new ExpiringCache<Promise<string | undefined>>(CACHE_ENTRIES);

/** The answer for id, from the cache when no older than maxAgeMs, else from query. */
function cachedLookup(id: string, maxAgeMs: number, query: () => Promise<string | undefined>): Promise<string | undefined> {
  const found = answers.get(id);
  if (found !== undefined) return found;
  const answer = query();
  answers.set(id, answer, maxAgeMs);
  answer.catch(() => answers.forget(id, answer));
  return answer;
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
