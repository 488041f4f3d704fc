/*
 * table-sqlite - sqlite:/file lookups (sqlite_table(5)) on better-sqlite3,
 * an optional dependency (it compiles from source): without it, opening a
 * sqlite: table is an error that says how to install it, and every other
 * table type works. The database named by `dbpath` is opened read-only on
 * the first lookup and again after the file changed on disk (the answers
 * of a daemon's tables are kept for petrel_table_cache_time, as those of
 * the other SQL types, by table-cache.ts); a missing or
 * unreadable database is a temporary error, never "not found". Values are
 * escaped by doubling single quotes, as sqlite3_mprintf's %q does; a
 * database busy with a writer is waited for up to the table's timeout.
 * Only the first column of each row counts, as in Postfix. Queries run
 * synchronously (SQLite is in-process). better-sqlite3's SQLite does not
 * take "double-quoted" text as a string where a column name is expected,
 * as Debian's does. The lookup itself is table-sql.ts's.
 */
import { PetrelError } from '../errors.js';
import { FileWatch } from './table-file-watch.js';
import { defineParams } from '../params/param-types.js';
import type { TableConfig } from './table-config.js';
import { sqlTimeoutMs } from './table-sql-params.js';
import { openSqlTable, type SqlDriver, type SqlType } from './table-sql.js';
import type { TableOpenerContext } from './table-registry.js';
import type { LookupTable } from './table.js';

/** What Petrel uses of a better-sqlite3 statement. */
interface SqliteStatement {
  readonly reader: boolean;
  raw(on: boolean): SqliteStatement;
  safeIntegers(on: boolean): SqliteStatement;
  all(): unknown[][];
}

/** What Petrel uses of a better-sqlite3 database. */
interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  close(): void;
}

type SqliteOpen = new (path: string, options: { readonly: boolean; fileMustExist: boolean; timeout: number }) => SqliteDatabase;

/** The settings of a sqlite: file besides the ones every SQL type reads. */
export const SQLITE_PARAMS = defineParams({
  dbpath: { kind: 'string', default: '', doc: 'the SQLite database file (required)' },
});

/** The message when better-sqlite3 cannot be loaded. */
export const SQLITE_MISSING = 'sqlite: table support needs better-sqlite3 (npm install better-sqlite3@12.x)';

/** The module's name in a variable, so that TypeScript does not look for its types. */
const MODULE = 'better-sqlite3';

let loaded: Promise<SqliteOpen> | undefined;

/** Loads better-sqlite3 and its compiled part once per process. */
function loadSqlite(): Promise<SqliteOpen> {
  loaded ??= (async () => {
    try {
      const module = (await import(MODULE)) as { default: SqliteOpen };
      // The compiled addon loads with the first database: check it now rather than at the first lookup.
      new module.default(':memory:', { readonly: false, fileMustExist: false, timeout: 0 }).close();
      return module.default;
    } catch (err) {
      loaded = undefined;
      throw new PetrelError('config', `${SQLITE_MISSING}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
  })();
  return loaded;
}

/** Escapes text for use inside '...', as sqlite3_mprintf's %q does. */
export function sqliteQuote(text: string): string {
  return text.replace(/'/g, "''");
}

/** A column value as SQLite's own text conversion would give it. */
function columnText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 1e15) return `${value}.0`;
  return String(value);
}

/** Opens the better-sqlite3 driver for the file cf. */
async function openSqlite(cf: TableConfig): Promise<SqlDriver> {
  const Database = await loadSqlite();
  const path = cf.values(SQLITE_PARAMS).dbpath;
  if (path === '') throw cf.notSet('dbpath');
  const timeout = sqlTimeoutMs(cf);
  let db: SqliteDatabase | undefined;
  let watch: FileWatch | undefined;
  const database = (): SqliteDatabase => {
    if (db !== undefined && watch?.changed() === true) {
      db.close();
      db = undefined;
    }
    if (db === undefined) {
      watch = new FileWatch(path);
      db = new Database(path, { readonly: true, fileMustExist: true, timeout });
    }
    return db;
  };
  return {
    quote: sqliteQuote,
    async select(sql) {
      try {
        const statement = database().prepare(sql);
        if (!statement.reader) return undefined;
        // Postfix's sqlite client reads the first column only (mysql and pgsql read them all).
        return statement.raw(true).safeIntegers(true).all().map((row) => [columnText(row[0])]);
      } catch (err) {
        throw new PetrelError('table_lookup', `sqlite ${path}: ${(err as Error).message}`, { temporary: true, cause: err });
      }
    },
    async close() {
      db?.close();
      db = undefined;
    },
  };
}

/** The sqlite: table type. */
export const SQLITE: SqlType = { name: 'sqlite', params: SQLITE_PARAMS, open: openSqlite };

/** Opens sqlite:/path. */
export function openSqliteTable(path: string, spec: string, ctx: TableOpenerContext): Promise<LookupTable> {
  return openSqlTable(SQLITE, path, spec, ctx);
}
