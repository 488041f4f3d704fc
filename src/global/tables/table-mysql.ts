/*
 * table-mysql - mysql:/file lookups (mysql_table(5)) on mysql2: `hosts`
 * (inet and unix:, "localhost" meaning the local socket as with the C
 * client), user, password, dbname (required, as in Postfix), option_file
 * and option_group (my.cnf),
 * tls_CAfile, tls_CApath, tls_cert_file, tls_key_file, tls_ciphers and
 * tls_verify_cert (read and checked when the table is opened; verifying
 * the server's name needs host names, not addresses, in hosts), and
 * require_result_set; stored procedures (CALL) with one result set. Each
 * host has a small pool of connections made on demand, closed after a
 * minute idle, dropped and replaced when the server goes away. Values are
 * escaped as mysql_real_escape_string does, and each new connection turns
 * NO_BACKSLASH_ESCAPES off so that escaping holds. The lookup itself is
 * table-sql.ts's.
 */
import { isIP } from 'node:net';
import type { Pool, PoolConnection, PoolOptions, SslOptions } from 'mysql2/promise';
import { PetrelError } from '../errors.js';
import { readAuthorities, readCertAndKey } from '../tls/tls-certs.js';
import { defineParams, type ParamsOf } from '../params/param-types.js';
import type { TableConfig } from './table-config.js';
import { readMysqlOptions, type MysqlOptions } from './table-mysql-options.js';
import { parseSqlHost, SqlHostPools, withDeadline, type SqlHost } from './table-sql-hosts.js';
import { SQL_SERVER_PARAMS, sqlTimeoutMs } from './table-sql-params.js';
import { openSqlTable, type SqlDriver, type SqlRows, type SqlType } from './table-sql.js';
import type { TableOpenerContext } from './table-registry.js';
import type { LookupTable } from './table.js';

/** The most connections one table keeps to one server. */
const POOL_SIZE = 4;

/** How long an unused connection stays open, in milliseconds (Postfix: about a minute). */
const IDLE_MS = 60_000;

/** The client library's socket when the host is "localhost" and no option file names one (Debian's). */
const DEFAULT_SOCKET = '/run/mysqld/mysqld.sock';

/** Run on each new connection: the escaping below assumes backslash escapes are on. */
const BACKSLASH_ESCAPES_ON = "SET SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','))";

/** The settings of a mysql: file besides the ones every SQL type reads. */
export const MYSQL_PARAMS = defineParams({
  ...SQL_SERVER_PARAMS,
  option_file: { kind: 'string', default: '', doc: 'a my.cnf-style file read instead of the default ones' },
  option_group: { kind: 'string', default: 'client', doc: 'the option-file group read after [client]; empty: read no default option files' },
  require_result_set: { kind: 'bool', default: 'yes', doc: 'a query that returns no result set is an error, not "not found"' },
  tls_CAfile: { kind: 'string', default: '', doc: 'certificate authorities the server is checked against' },
  tls_CApath: { kind: 'string', default: '', doc: 'a folder of certificate authorities the server is checked against' },
  tls_cert_file: { kind: 'string', default: '', doc: 'the client certificate' },
  tls_key_file: { kind: 'string', default: '', doc: "the client certificate's key (default: in tls_cert_file)" },
  tls_ciphers: { kind: 'string', default: '', doc: 'the TLS ciphers allowed' },
  tls_verify_cert: { kind: 'bool', default: 'no', doc: "check the server certificate's name; unset: the option files' ssl-verify-server-cert" },
});

type MysqlSettings = ParamsOf<typeof MYSQL_PARAMS>;

const ESCAPES: Readonly<Record<string, string>> = { '\0': '\\0', '\n': '\\n', '\r': '\\r', '\\': '\\\\', "'": "\\'", '"': '\\"', '\x1a': '\\Z' };

/** Escapes text as mysql_real_escape_string does, for use inside '...' or "...". */
export function mysqlQuote(text: string): string {
  return text.replace(/[\0\n\r\\'"\x1a]/g, (ch) => ESCAPES[ch] as string);
}

/** A table setting, or else the option files' one. */
function either(value: string, options: MysqlOptions, option: string): string {
  return value || (options.get(option) ?? '');
}

/** The TLS options of the tls_* settings (and the option files' ssl-*), or undefined for no TLS. */
function tlsOptions(cf: TableConfig, settings: MysqlSettings, options: MysqlOptions): SslOptions | undefined {
  const caFile = either(settings.tls_CAfile, options, 'ssl-ca');
  const caPath = either(settings.tls_CApath, options, 'ssl-capath');
  const certFile = either(settings.tls_cert_file, options, 'ssl-cert');
  const keyFile = either(settings.tls_key_file, options, 'ssl-key');
  const ciphers = either(settings.tls_ciphers, options, 'ssl-cipher');
  const optionVerify = ['1', 'on', 'true'].includes(options.get('ssl-verify-server-cert') ?? '');
  const verify = cf.isSet('tls_verify_cert') ? settings.tls_verify_cert : optionVerify;
  const optionSsl = ['1', 'on', 'true'].includes(options.get('ssl') ?? '');
  if (!verify && !optionSsl && [caFile, caPath, certFile, keyFile, ciphers].every((value) => value === '')) return undefined;
  const where = cf.path;
  const ssl: SslOptions = { rejectUnauthorized: verify || caFile !== '' || caPath !== '', verifyIdentity: verify };
  if (caFile !== '' || caPath !== '') ssl.ca = readAuthorities(`${where}: tls_CAfile`, caFile, `${where}: tls_CApath`, caPath);
  if (certFile !== '') {
    const pair = readCertAndKey(`${where}: tls_cert_file`, certFile, keyFile || certFile);
    ssl.cert = pair.chain;
    ssl.key = pair.key;
  } else if (keyFile !== '') {
    throw new PetrelError('config', `${where}: tls_key_file is set without tls_cert_file`);
  }
  if (ciphers !== '') ssl.ciphers = ciphers;
  return ssl;
}

/** mysql2's connection options for host. */
function connectOptions(host: SqlHost, settings: MysqlSettings, timeoutMs: number, options: MysqlOptions, ssl: SslOptions | undefined): PoolOptions {
  const where: PoolOptions =
    host.kind === 'unix'
      ? { socketPath: host.path }
      : host.host === 'localhost' && host.port === undefined
        ? { socketPath: options.get('socket') ?? DEFAULT_SOCKET }
        : { host: host.host, port: host.port ?? Number(options.get('port') ?? 3306) };
  return {
    ...where,
    user: either(settings.user, options, 'user'),
    password: either(settings.password, options, 'password'),
    database: settings.dbname,
    ssl,
    connectTimeout: timeoutMs,
    connectionLimit: POOL_SIZE,
    maxIdle: POOL_SIZE - 1,
    idleTimeout: IDLE_MS,
    enableKeepAlive: true,
    charset: 'utf8mb4',
  };
}

function makePool(createPool: (options: PoolOptions) => Pool, options: PoolOptions): Pool {
  const pool = createPool(options);
  pool.pool.on('connection', (conn) => {
    // A connection that dies while idle is dropped by the pool; without a listener its error would be fatal to the process.
    conn.on('error', () => {});
    conn.query(BACKSLASH_ESCAPES_ON, () => {});
  });
  return pool;
}

type QueryResult = readonly [unknown, unknown];

/** The one data result set of a query's result, undefined when there is none. */
function resultRows([rows, fields]: QueryResult, where: string): SqlRows | undefined {
  if (!Array.isArray(rows)) return undefined;
  if (!Array.isArray(fields) || fields.every((field) => !Array.isArray(field) && field !== undefined)) return rows as SqlRows;
  // A stored procedure: several results, the data sets where fields has a list.
  const sets = rows.filter((_, i) => Array.isArray(fields[i]));
  if (sets.length > 1) throw new PetrelError('table_lookup', `${where}: query failed: multiple result sets returning data are not supported`, { temporary: true });
  return sets[0] as SqlRows | undefined;
}

/** Runs sql on a connection of pool, once more on a new connection when a pooled one turns out dead. */
async function runQuery(pool: Pool, sql: string, timeoutMs: number, retry = true): Promise<QueryResult> {
  const conn: PoolConnection = await withDeadline(pool.getConnection(), timeoutMs, 'connect', (late) => late.release());
  try {
    const result = await withDeadline(
      conn.query({ sql, rowsAsArray: true, typeCast: (field) => field.string() }),
      timeoutMs,
      'query',
    );
    conn.release();
    return result;
  } catch (err) {
    const fatal = !(err instanceof PetrelError) && (err as { fatal?: boolean }).fatal === true;
    if (err instanceof PetrelError || fatal) conn.destroy();
    else conn.release();
    if (fatal && retry) return runQuery(pool, sql, timeoutMs, false);
    throw err;
  }
}

/** Opens the mysql2 driver for the file cf. */
async function openMysql(cf: TableConfig): Promise<SqlDriver> {
  // Loaded here, not at start-up: most processes never open a mysql: table.
  const { createPool } = await import('mysql2/promise');
  const settings = cf.values(MYSQL_PARAMS);
  if (settings.dbname === '') throw cf.notSet('dbname');
  const options = readMysqlOptions(settings.option_file, settings.option_group);
  const ssl = tlsOptions(cf, settings, options);
  const hosts = (settings.hosts.length > 0 ? settings.hosts : ['localhost']).map((item) => parseSqlHost(item, cf.path));
  const ipHost = hosts.find((host) => host.kind === 'inet' && isIP(host.host) !== 0);
  if (ssl?.verifyIdentity === true && ipHost !== undefined) {
    // mysql2 would check the certificate against "localhost" instead of the address.
    throw new PetrelError('config', `${cf.path}: tls_verify_cert = yes needs host names in hosts, not an address (${ipHost.label}): Petrel's mysql client cannot check a certificate against an IP address`);
  }
  const timeoutMs = sqlTimeoutMs(cf);
  const pools = new SqlHostPools<Pool>(hosts, 'mysql server', (host) => makePool(createPool, connectOptions(host, settings, timeoutMs, options, ssl)), (pool) => pool.end());
  return {
    quote: mysqlQuote,
    async select(sql) {
      const rows = await pools.run(async (pool) => {
        const found = resultRows(await runQuery(pool, sql, timeoutMs), cf.path);
        if (found === undefined && settings.require_result_set) {
          throw new PetrelError('table_lookup', `${cf.path}: query returned no result set (require_result_set = yes)`, { temporary: true });
        }
        return found;
      });
      return rows;
    },
    close: () => pools.close(),
  };
}

/** The mysql: table type. */
export const MYSQL: SqlType = {
  name: 'mysql',
  params: MYSQL_PARAMS,
  open: openMysql,
};

/** Opens mysql:/path. */
export function openMysqlTable(path: string, spec: string, ctx: TableOpenerContext): Promise<LookupTable> {
  return openSqlTable(MYSQL, path, spec, ctx);
}
