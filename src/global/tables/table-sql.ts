/*
 * table-sql - what mysql:, pgsql: and sqlite: tables share: the lookup
 * (key folded unless postmap -f, the `domain` filter, the query expanded
 * with the driver's quoting, every column of every row formatted with
 * result_format and joined with commas, more than expansion_limit elements
 * a temporary error) over a driver that runs one query. A table file is
 * opened once per process however many parameters name it: its driver
 * (and so its connection pool) is shared and closed with the last user.
 * The templates and the domain filter are table-expand.ts's, shared with
 * redis:.
 * Opened by table-mysql.ts, table-pgsql.ts and table-sqlite.ts; follows
 * Postfix's db_common(3) and mysql_table(5).
 */
import { resolve } from 'node:path';
import { PetrelError } from '../errors.js';
import { SQL_COMMON_SETTINGS, SqlSettings } from './table-sql-config.js';
import { expandKey, expandResult, openDomainFilter, parseTemplate, type DomainFilter, type ExpansionTemplate } from './table-expand.js';
import type { TableOpenerContext } from './table-registry.js';
import type { LookupTable } from './table.js';

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
  /** The settings it reads besides SQL_COMMON_SETTINGS. */
  readonly settings: readonly string[];
  /** Opens the driver; nothing may connect yet (connections are made on first use). */
  open(settings: SqlSettings): Promise<SqlDriver>;
  /** A legacy setting naming a database function that stands in for the query (pgsql's select_function). */
  readonly legacyFunction?: string;
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
    const settings = SqlSettings.read(type.name, path, [...SQL_COMMON_SETTINGS, ...type.settings]);
    const legacy = type.legacyFunction === undefined ? undefined : settings.text(type.legacyFunction);
    const query = parseTemplate(settings.queryTemplate(legacy), `${path}: query`);
    const resultFormat = parseTemplate(settings.text('result_format', '%s'), `${path}: result_format`);
    const keyNeeds = { source: resultFormat.source, parts: resultFormat.parts.filter((part) => 'code' in part && !/^[sud]$/.test(part.code)) };
    const expansionLimit = settings.int('expansion_limit', 0);
    const domain = await openDomainFilter(settings.list('domain'), ctx, path);
    try {
      return new SqlEngine(query, resultFormat, keyNeeds, expansionLimit, domain, await type.open(settings));
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
