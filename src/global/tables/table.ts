/*
 * table - the one interface every lookup table type implements (DESIGN §4).
 * A lookup answers a value, "not found" (undefined), or throws a temporary
 * PetrelError when the table cannot be reached; callers turn that into a
 * 4xx reply or a deferral, never into "not found". Follows Postfix's dict(3).
 */
import type { Params } from '../params/param-registry.js';

/** An open lookup table, such as hash:/etc/postfix/virtual or regexp:/etc/postfix/header_checks. */
export interface LookupTable {
  /** The type:name text the table was opened with, for logs. */
  readonly spec: string;
  /**
   * True for tables that match the whole lookup string against patterns
   * (regexp, pcre, cidr, static, ...): callers skip partial-key search orders
   * such as user@, @domain or parent domains, as Postfix does.
   */
  readonly pattern: boolean;
  /** The value for key, or undefined when there is none; throws PetrelError when unavailable. */
  lookup(key: string): Promise<string | undefined>;
  /**
   * For rule tables (regexp, pcre, cidr): the same answer computed
   * synchronously, so a caller can bound its time (util/bounded-run.ts);
   * progress.rule names the rule being tried, for the warning when it is stopped.
   */
  matchSync?(key: string, progress: MatchProgress): string | undefined;
  /** Releases files, connections and timers. */
  close(): Promise<void>;
}

/** Which rule a synchronous match is trying. */
export interface MatchProgress {
  rule: string;
}

/** What opening a table may need besides its name. */
export interface TableOpenContext {
  /** The configuration directory, for relative names and client configuration files. */
  readonly configDir: string;
  /** False to look keys up as given in fixed-key tables (postmap -f); lower-cased by default, as Postfix does. */
  readonly foldKeys?: boolean;
  /**
   * petrel_table_cache_time, in seconds: how long the answers of a table
   * that asks a server or a database are reused (table-cache.ts); absent
   * or 0 in commands, which look up once and exit.
   */
  readonly cacheTime?: number;
}

/** The context a daemon opens its tables with: its configuration directory and petrel_table_cache_time. */
export function tableContext(params: Params): TableOpenContext {
  return { configDir: params.config_directory, cacheTime: params.petrel_table_cache_time };
}
