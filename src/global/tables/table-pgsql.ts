/*
 * table-pgsql - pgsql:/file lookups (pgsql_table(5)) on pg: `hosts` as
 * postgresql:// URIs (sslmode and the rest as pg reads them), unix:/dir
 * (the socket's directory, or the socket itself) and inet:host:port, user,
 * password, dbname (required, as in Postfix), and the legacy
 * select_function. Each host has a small pool of connections made on
 * demand, closed after a minute idle, dropped and replaced when the server
 * goes away. Every value comes back as the
 * server's text. Connections ask for standard_conforming_strings, so
 * escaping a value is doubling its single quotes, as PQescapeStringConn
 * does. pgsql_table(5) has no tls_* settings: one in the file is an error
 * (TLS goes in the URI). The lookup itself is table-sql.ts's.
 */
import { basename, dirname } from 'node:path';
import type pg from 'pg';
import { PetrelError } from '../errors.js';
import { defineParams, type ParamsOf } from '../params/param-types.js';
import type { TableConfig } from './table-config.js';
import { parseSqlHost, SqlHostPools, withDeadline, type SqlHost } from './table-sql-hosts.js';
import { SQL_SERVER_PARAMS, sqlTimeoutMs } from './table-sql-params.js';
import { openSqlTable, type SqlDriver, type SqlRows, type SqlType } from './table-sql.js';
import type { TableOpenerContext } from './table-registry.js';
import type { LookupTable } from './table.js';

/** The most connections one table keeps to one server. */
const POOL_SIZE = 4;

/** How long an unused connection stays open, in milliseconds (Postfix: about a minute). */
const IDLE_MS = 60_000;

/** The settings of a pgsql: file besides the ones every SQL type reads. */
export const PGSQL_PARAMS = defineParams({
  ...SQL_SERVER_PARAMS,
  select_function: { kind: 'string', default: '', doc: 'legacy form: a function called with the key, standing in for the query' },
});

/** Every column as the text the server sent. */
const TEXT_TYPES: pg.CustomTypesConfig = { getTypeParser: (() => (value: string) => value) as unknown as pg.CustomTypesConfig['getTypeParser'] };

/** A pgsql host: a connection URI or a socket directory or address. */
type PgsqlHost = SqlHost | { readonly kind: 'uri'; readonly uri: string; readonly label: string };

/** Escapes text for use inside '...' with standard_conforming_strings on. */
export function pgsqlQuote(text: string): string {
  return text.replace(/'/g, "''");
}

function parseHost(item: string, where: string): PgsqlHost {
  if (/^postgres(ql)?:\/\//i.test(item)) return { kind: 'uri', uri: item, label: item.replace(/:[^:@/]*@/, ':*@') };
  return parseSqlHost(item, where);
}

/** pg's connection options for host. */
function connectOptions(host: PgsqlHost, settings: ParamsOf<typeof PGSQL_PARAMS>, timeoutMs: number): pg.PoolConfig {
  let where: pg.PoolConfig;
  if (host.kind === 'uri') {
    where = { connectionString: host.uri };
  } else if (host.kind === 'unix') {
    const socket = /^\.s\.PGSQL\.(\d+)$/.exec(basename(host.path));
    where = socket === null ? { host: host.path } : { host: dirname(host.path), port: Number(socket[1]) };
  } else {
    where = { host: host.host, port: host.port ?? 5432 };
  }
  return {
    user: settings.user || undefined,
    password: settings.password || undefined,
    database: settings.dbname,
    ...where,
    options: '-c standard_conforming_strings=on',
    application_name: 'petrel',
    types: TEXT_TYPES,
    connectionTimeoutMillis: timeoutMs,
    max: POOL_SIZE,
    idleTimeoutMillis: IDLE_MS,
    keepAlive: true,
  };
}

function makePool(Pool: typeof pg.Pool, options: pg.PoolConfig): pg.Pool {
  const pool = new Pool(options);
  // A connection that dies is dropped by the pool (and a query on it fails); without these listeners its error would be fatal to the process.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** Runs sql on a connection of pool, once more on a new connection when a pooled one turns out dead. */
async function runQuery(pool: pg.Pool, sql: string, timeoutMs: number, retry = true): Promise<SqlRows> {
  const client = await withDeadline(pool.connect(), timeoutMs, 'connect', (late) => late.release());
  try {
    const result: unknown = await withDeadline(client.query({ text: sql, rowMode: 'array' }), timeoutMs, 'query');
    client.release();
    // Several statements answer several results; the last one counts, as with PQexec.
    const last = (Array.isArray(result) ? result[result.length - 1] : result) as pg.QueryArrayResult | undefined;
    return (last?.rows ?? []) as SqlRows;
  } catch (err) {
    // An error the server reported leaves the connection usable; anything else (a timeout, a broken connection) does not.
    const serverError = !(err instanceof PetrelError) && typeof (err as { severity?: unknown }).severity === 'string';
    client.release(!serverError);
    if (!serverError && !(err instanceof PetrelError) && retry) return runQuery(pool, sql, timeoutMs, false);
    throw err;
  }
}

/** Opens the pg driver for the file cf. */
async function openPgsql(cf: TableConfig): Promise<SqlDriver> {
  // Loaded here, not at start-up: most processes never open a pgsql: table.
  const { Pool } = (await import('pg')).default;
  const settings = cf.values(PGSQL_PARAMS);
  if (settings.dbname === '') throw cf.notSet('dbname');
  const hosts = (settings.hosts.length > 0 ? settings.hosts : ['localhost']).map((item) => parseHost(item, cf.path));
  const timeoutMs = sqlTimeoutMs(cf);
  const pools = new SqlHostPools<pg.Pool, PgsqlHost>(hosts, 'pgsql server', (host) => makePool(Pool, connectOptions(host, settings, timeoutMs)), (pool) => pool.end());
  return {
    quote: pgsqlQuote,
    select: (sql) => pools.run((pool) => runQuery(pool, sql, timeoutMs)),
    close: () => pools.close(),
  };
}

/** The pgsql: table type. */
export const PGSQL: SqlType = {
  name: 'pgsql',
  params: PGSQL_PARAMS,
  open: openPgsql,
  legacyFunction: (cf) => cf.values(PGSQL_PARAMS).select_function,
};

/** Opens pgsql:/path. */
export function openPgsqlTable(path: string, spec: string, ctx: TableOpenerContext): Promise<LookupTable> {
  return openSqlTable(PGSQL, path, spec, ctx);
}
