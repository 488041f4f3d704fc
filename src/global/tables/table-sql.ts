/*
 * table-sql - what mysql:, pgsql: and sqlite: tables share: the lookup
 * (key folded unless postmap -f, the `domain` filter, the query expanded
 * with the driver's quoting, every column of every row formatted with
 * result_format and joined with commas, more than expansion_limit elements
 * a temporary error) over a driver that runs one query. A table file is
 * opened once per process however many parameters name it: its driver
 * (and so its connection pool) is shared and closed with the last user.
 * The templates and the domain filter are table-expand.ts's, shared with
 * redis:; the configuration file is read by table-config.ts, with the
 * settings every SQL type shares declared in table-sql-params.ts.
 * Opened by table-mysql.ts, table-pgsql.ts and table-sqlite.ts; follows
 * Postfix's db_common(3) and mysql_table(5).
 */
import { resolve } from 'node:path';
import { PetrelError } from '../errors.js';
import type { ParamTable } from '../params/param-types.js';
import { TableConfig } from './table-config.js';
import { SQL_COMMON_PARAMS } from './table-sql-params.js';
import { expandKey, expandResult, openDomainFilter, parseTemplate, type DomainFilter, type ExpansionTemplate } from './table-expand.js';
import type { TableOpenerContext } from './table-registry.js';
import type { LookupTable } from './table.js';

/**
 * The query template: `query`, else one built from the legacy
 * select_field, table, where_field and additional_conditions settings;
 * legacyFunction (pgsql's select_function) comes between the two.
 */
function queryTemplate(cf: TableConfig, legacyFunction: string): string {
  const common = cf.values(SQL_COMMON_PARAMS);
  if (common.query !== '') return common.query;
  if (legacyFunction !== '') return `SELECT ${legacyFunction}('%s')`;
  const missing = (['select_field', 'table', 'where_field'] as const).filter((name) => common[name] === '');
  if (missing.length > 0) {
    throw new PetrelError('config', `${cf.path}: query is not set (nor the legacy ${missing.join(', ')})`);
  }
  const base = `SELECT ${common.select_field} FROM ${common.table} WHERE ${common.where_field} = '%s'`;
  return common.additional_conditions === '' ? base : `${base} ${common.additional_conditions}`;
}

/** The rows a query returned, each column as text (null for SQL NULL). */
export type SqlRows = readonly (readonly (string | null)[])[];

/** One open connection to a database (or a pool of them), as the shared code uses it. */
export interface SqlDriver {
  /** Escapes text for use inside a quoted string literal, as the database's own escaping function would. */
  quote(text: string): string;
  /** The rows sql returned; undefined when it returned no result set and that means "not found". Throws a temporary PetrelError when the database cannot answer. */
  select(sql: string): Promise<SqlRows | undefined>;
  /** Closes the connections. */
  close(): Promise<void>;
}

/** A SQL table type: its name, its own settings and how it opens a driver. */
export interface SqlType {
  readonly name: 'mysql' | 'pgsql' | 'sqlite';
  /** The settings it reads besides SQL_COMMON_PARAMS. */
  readonly params: ParamTable;
  /** Opens the driver; nothing may connect yet (connections are made on first use). */
  open(cf: TableConfig): Promise<SqlDriver>;
  /** The database function a legacy setting names to stand in for the query (pgsql's select_function), or ''. */
  legacyFunction?(cf: TableConfig): string;
}

/** One table file's query machinery, shared by every table opened on that file. */
class SqlEngine {
  private constructor(
    private readonly query: ExpansionTemplate,
    private readonly resultFormat: ExpansionTemplate,
    /** The key parts result_format takes (%S %U %D %1-%9): a key without them is not looked up. */
    private readonly keyNeeds: ExpansionTemplate,
    private readonly expansionLimit: number,
    private readonly domain: DomainFilter,
    private readonly driver: SqlDriver,
  ) {}

  static async open(type: SqlType, path: string, ctx: TableOpenerContext): Promise<SqlEngine> {
    const cf = TableConfig.read(type.name, path, [SQL_COMMON_PARAMS, type.params]);
    const common = cf.values(SQL_COMMON_PARAMS);
    const query = parseTemplate(queryTemplate(cf, type.legacyFunction?.(cf) ?? ''), `${path}: query`);
    const resultFormat = parseTemplate(common.result_format, `${path}: result_format`);
    const keyNeeds = { source: resultFormat.source, parts: resultFormat.parts.filter((part) => 'code' in part && !/^[sud]$/.test(part.code)) };
    const domain = await openDomainFilter(common.domain, ctx, path);
    try {
      return new SqlEngine(query, resultFormat, keyNeeds, common.expansion_limit, domain, await type.open(cf));
    } catch (err) {
      await domain.close();
      throw err;
    }
  }

  async lookup(spec: string, key: string): Promise<string | undefined> {
    // A NUL cannot be part of a Postfix key, nor of most SQL strings.
    if (key.includes('\0')) return undefined;
    if (!(await this.domain.eligible(key))) return undefined;
    if (expandKey(this.keyNeeds, key) === undefined) return undefined;
    const sql = expandKey(this.query, key, (text) => this.driver.quote(text));
    if (sql === undefined) return undefined;
    let rows: SqlRows | undefined;
    try {
      rows = await this.driver.select(sql);
    } catch (err) {
      throw new PetrelError('table_lookup', `${spec}: ${(err as Error).message}`, { temporary: true, cause: err });
    }
    if (rows === undefined) return undefined;
    const found: string[] = [];
    for (const row of rows) {
      for (const column of row) {
        if (column === null) continue;
        const formatted = expandResult(this.resultFormat, column, key);
        if (formatted === undefined) continue;
        found.push(formatted);
        if (this.expansionLimit > 0 && found.length > this.expansionLimit) {
          throw new PetrelError('table_lookup', `${spec}: expansion limit exceeded for key: '${key}'`, { temporary: true });
        }
      }
    }
    return found.length === 0 ? undefined : found.join(',');
  }

  async close(): Promise<void> {
    await Promise.all([this.driver.close(), this.domain.close()]);
  }
}

/** The engines open in this process, by type and absolute file name, with how many tables use each. */
const ENGINES = new Map<string, { engine: Promise<SqlEngine>; users: number }>();

/** Opens type:path, sharing the file's engine (and connections) with other tables open on it. */
export async function openSqlTable(type: SqlType, path: string, spec: string, ctx: TableOpenerContext): Promise<LookupTable> {
  const id = `${type.name}:${resolve(path)}`;
  let shared = ENGINES.get(id);
  if (shared === undefined) {
    shared = { engine: SqlEngine.open(type, path, ctx), users: 0 };
    ENGINES.set(id, shared);
  }
  shared.users++;
  const entry = shared;
  let engine: SqlEngine;
  try {
    engine = await entry.engine;
  } catch (err) {
    if (--entry.users === 0 && ENGINES.get(id) === entry) ENGINES.delete(id);
    throw err;
  }
  const fold = ctx.foldKeys ?? true;
  let closed = false;
  return {
    spec,
    pattern: false,
    lookup: (key) => engine.lookup(spec, fold ? key.toLowerCase() : key),
    async close() {
      if (closed) return;
      closed = true;
      if (--entry.users > 0) return;
      if (ENGINES.get(id) === entry) ENGINES.delete(id);
      await engine.close();
    },
  };
}
