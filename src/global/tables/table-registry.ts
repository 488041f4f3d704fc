/*
 * table-registry - the one place that knows every lookup table type. openTable
 * parses "type:name" (DESIGN §4), finds the type's opener in TABLE_TYPES and
 * returns the open table; `postconf -m` lists TABLE_TYPES. Types that wrap
 * other tables (proxy, unionmap) open their inner tables through the context.
 * The answers of tables that ask a server are cached for the context's
 * cacheTime (table-cache.ts).
 * Follows Postfix's dict_open(3).
 */
import { PetrelError } from '../errors.js';
import { splitBraceList } from './table-braces.js';
import { CACHED_TABLE_TYPES, cacheAnswers } from './table-cache.js';
import { openCidr } from './table-cidr.js';
import { openPipemap, openProxy, openUnionmap } from './table-compose.js';
import { openFail } from './table-fail.js';
import { openInline } from './table-inline.js';
import { openIndexed } from './table-lmdb.js';
import { openMysqlTable } from './table-mysql.js';
import { openPcre } from './table-pcre.js';
import { openPgsqlTable } from './table-pgsql.js';
import { openRedis } from './table-redis.js';
import { openRegexp } from './table-regexp.js';
import { openSocketmap } from './table-socketmap.js';
import { openSqliteTable } from './table-sqlite.js';
import { openStatic } from './table-static.js';
import { openTcp } from './table-tcp.js';
import { openTexthash } from './table-texthash.js';
import { openUnix } from './table-unix.js';
import type { LookupTable, TableOpenContext } from './table.js';

/** What an opener receives: the shared context plus a way to open nested tables. */
export interface TableOpenerContext extends TableOpenContext {
  /** Opens another table by its full type:name text (for proxy:, unionmap:{...}). */
  open(spec: string): Promise<LookupTable>;
}

/** Opens one type's table given the text after "type:". */
export type TableOpener = (name: string, spec: string, ctx: TableOpenerContext) => Promise<LookupTable>;

/** Every table type Petrel implements, by the name used in type:name. */
export const TABLE_TYPES: Readonly<Record<string, TableOpener>> = {
  btree: (name, spec, ctx) => openIndexed('btree', name, spec, ctx),
  cidr: (name, spec) => openCidr(name, spec),
  fail: (name, spec) => openFail(name, spec),
  hash: (name, spec, ctx) => openIndexed('hash', name, spec, ctx),
  inline: (name, spec, ctx) => openInline(name, spec, ctx),
  lmdb: (name, spec, ctx) => openIndexed('lmdb', name, spec, ctx),
  mysql: openMysqlTable,
  pcre: (name, spec) => openPcre(name, spec),
  pgsql: openPgsqlTable,
  pipemap: openPipemap,
  proxy: openProxy,
  redis: (name, spec, ctx) => openRedis(name, spec, ctx),
  regexp: (name, spec) => openRegexp(name, spec),
  socketmap: (name, spec) => openSocketmap(name, spec),
  sqlite: openSqliteTable,
  static: (name, spec) => openStatic(name, spec),
  tcp: (name, spec) => openTcp(name, spec),
  texthash: (name, spec, ctx) => openTexthash(name, spec, ctx),
  unionmap: openUnionmap,
  unix: (name, spec) => openUnix(name, spec),
};

/** The type and name parts of a "type:name" table specification. */
export function splitTableSpec(spec: string): { type: string; name: string } {
  const colon = spec.indexOf(':');
  if (colon <= 0) {
    throw new PetrelError('table_spec', `lookup table "${spec}" is not of the form type:name`);
  }
  return { type: spec.slice(0, colon).toLowerCase(), name: spec.slice(colon + 1) };
}

/** Types whose name is a list of other tables in { }. */
const LIST_TYPES: ReadonlySet<string> = new Set(['unionmap', 'pipemap']);

/**
 * The first table type in spec (nested proxy:, unionmap:{...} and
 * pipemap:{...} included) that Petrel lacks, without opening anything; for
 * start-up checks. A malformed spec answers undefined: opening it reports that.
 */
export function unsupportedTableType(spec: string): string | undefined {
  const colon = spec.indexOf(':');
  if (colon <= 0) return undefined;
  const type = spec.slice(0, colon).toLowerCase();
  const name = spec.slice(colon + 1);
  if (TABLE_TYPES[type] === undefined) return type;
  if (type === 'proxy') return unsupportedTableType(name);
  if (!LIST_TYPES.has(type)) return undefined;
  let inner: string[];
  try {
    inner = splitBraceList(name, spec);
  } catch {
    return undefined;
  }
  for (const item of inner) {
    const found = unsupportedTableType(item);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Opens a lookup table from its "type:name" text; unknown types are a configuration error. */
export async function openTable(spec: string, ctx: TableOpenContext): Promise<LookupTable> {
  const { type, name } = splitTableSpec(spec);
  const opener = TABLE_TYPES[type];
  if (opener === undefined) {
    throw new PetrelError('table_spec', `unsupported dictionary type: ${type} (in "${spec}")`);
  }
  const nested: TableOpenerContext = { ...ctx, open: (inner) => openTable(inner, ctx) };
  const table = await opener(name, spec, nested);
  if (!ctx.cacheTime || !CACHED_TABLE_TYPES.has(type)) return table;
  return cacheAnswers(table, ctx.cacheTime, ctx.foldKeys !== false);
}
