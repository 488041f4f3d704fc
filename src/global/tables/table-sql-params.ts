/*
 * table-sql-params - the settings of a SQL table's configuration file that
 * every SQL type reads (SQL_COMMON_PARAMS) and that the client-server
 * types add (SQL_SERVER_PARAMS), declared once with their defaults and
 * docs for table-config.ts; each driver declares its own beside its code.
 * Used by table-sql.ts, table-mysql.ts, table-pgsql.ts and table-sqlite.ts;
 * follows mysql_table(5), pgsql_table(5) and sqlite_table(5).
 */
import { defineParams } from '../params/param-types.js';
import type { TableConfig } from './table-config.js';

/** The settings every SQL table type reads (the legacy select_field ... form included). */
export const SQL_COMMON_PARAMS = defineParams({
  query: { kind: 'string', default: '', doc: 'the SQL query, with %s %u %d %[SUD1-9] of the lookup key' },
  result_format: { kind: 'string', default: '%s', doc: 'the answer made from each value found' },
  expansion_limit: { kind: 'int', default: '0', min: 0, doc: 'the most values a lookup may answer (more is an error); 0: no limit' },
  domain: { kind: 'list', default: '', doc: 'when set, only user@domain keys with a domain in this list are looked up' },
  timeout: { kind: 'time', default: '10s', min: 1, doc: "Petrel's own deadline for connecting and for each query (Postfix has none)" },
  select_field: { kind: 'string', default: '', doc: 'legacy form: the column selected (when query is not set)' },
  table: { kind: 'string', default: '', doc: 'legacy form: the table queried' },
  where_field: { kind: 'string', default: '', doc: 'legacy form: the column compared with the key' },
  additional_conditions: { kind: 'string', default: '', doc: 'legacy form: text added after the WHERE clause' },
});

/** The settings of the client-server types (mysql, pgsql). */
export const SQL_SERVER_PARAMS = defineParams({
  hosts: { kind: 'list', default: '', doc: 'the servers, tried in order; empty: localhost' },
  user: { kind: 'string', default: '', doc: 'the user name to log in with' },
  password: { kind: 'string', default: '', doc: 'the password to log in with' },
  dbname: { kind: 'string', default: '', doc: 'the database (required)' },
});

/** The deadline for connecting and for each query, in milliseconds. */
export function sqlTimeoutMs(cf: TableConfig): number {
  return cf.values(SQL_COMMON_PARAMS).timeout * 1000;
}
