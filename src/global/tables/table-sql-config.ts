/*
 * table-sql-config - reads the client configuration file of a mysql:,
 * pgsql: or sqlite: table, in main.cf syntax (name = value, continuation
 * lines, # comments; no $name expansion, as Postfix's cfg_parser). Each
 * driver names the settings it understands; any other name is warned
 * about, except a tls_* setting, which is an error, so that a file never
 * runs with less TLS than it asks for. The legacy form "mysql:name" with
 * the settings in main.cf as name_hosts ... is refused. Used by
 * table-sql.ts and the drivers; follows mysql_table(5), pgsql_table(5) and
 * sqlite_table(5).
 */
import { isAbsolute } from 'node:path';
import { parseMainCf } from '../config/main-cf-read.js';
import { splitList } from '../config/param-convert.js';
import { PetrelError } from '../errors.js';
import { msg } from '../../util/msg.js';
import { readSourceText } from './table-source.js';

/** The settings every SQL table type reads (the legacy select_field ... form included). */
export const SQL_COMMON_SETTINGS: readonly string[] = [
  'query', 'result_format', 'expansion_limit', 'domain', 'timeout',
  'select_field', 'table', 'where_field', 'additional_conditions',
];

/** The settings of the client-server types (mysql, pgsql). */
export const SQL_SERVER_SETTINGS: readonly string[] = ['hosts', 'user', 'password', 'dbname'];

/** Petrel's own deadline, in seconds, for connecting and for each query (Postfix has none). */
const DEFAULT_TIMEOUT_SECONDS = 10;

/** One open configuration file's settings with typed getters; errors name the file. */
export class SqlSettings {
  private constructor(
    /** The configuration file. */
    readonly path: string,
    private readonly values: ReadonlyMap<string, string>,
  ) {}

  /** Reads the file of a type:path table; known lists the names the type understands. */
  static read(type: string, path: string, known: readonly string[]): SqlSettings {
    if (!isAbsolute(path) && !path.startsWith('.')) {
      throw new PetrelError('table_spec', `${type}:${path}: the main.cf form (parameters named ${path}_hosts ...) is not supported: name a configuration file by its path`);
    }
    const parsed = parseMainCf(readSourceText(path), path);
    const values = new Map<string, string>();
    for (const setting of parsed.settings.values()) {
      if (!known.includes(setting.name)) {
        if (setting.name.startsWith('tls_')) {
          throw new PetrelError('config', `${path}, line ${setting.line}: ${type}: ${setting.name} is not supported by Petrel's ${type} client; refusing to connect with less TLS than configured`);
        }
        msg.warn(`${path}, line ${setting.line}: ${type}: unused parameter: ${setting.name}=${setting.value}`);
        continue;
      }
      values.set(setting.name, setting.value);
    }
    return new SqlSettings(path, values);
  }

  /** True when the file sets name (even to an empty value). */
  has(name: string): boolean {
    return this.values.has(name);
  }

  /** A text setting. */
  text(name: string, fallback = ''): string {
    return this.values.get(name) ?? fallback;
  }

  /** A list setting (comma and/or white space separated). */
  list(name: string): string[] {
    return splitList(this.text(name));
  }

  /** A whole number at least min. */
  int(name: string, fallback: number, min = 0): number {
    const raw = this.values.get(name);
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min) {
      throw new PetrelError('config', `${this.path}: invalid ${name} value "${raw}" (a whole number of at least ${min})`);
    }
    return Number(raw);
  }

  /** A yes/no setting. */
  bool(name: string, fallback: boolean): boolean {
    const raw = this.values.get(name);
    if (raw === undefined || raw === '') return fallback;
    const lower = raw.toLowerCase();
    if (lower === 'yes' || lower === 'true') return true;
    if (lower === 'no' || lower === 'false') return false;
    throw new PetrelError('config', `${this.path}: invalid ${name} value "${raw}" (yes or no)`);
  }

  /** A setting that must be present and non-empty. */
  required(name: string): string {
    const value = this.text(name);
    if (value === '') throw new PetrelError('config', `${this.path}: ${name} is not set`);
    return value;
  }

  /** The deadline for connecting and for each query, in milliseconds (Petrel's `timeout`, in seconds). */
  timeoutMs(): number {
    return this.int('timeout', DEFAULT_TIMEOUT_SECONDS, 1) * 1000;
  }

  /**
   * The query template: `query`, else one built from the legacy
   * select_field, table, where_field and additional_conditions settings;
   * legacyFunction (pgsql's select_function) comes between the two.
   */
  queryTemplate(legacyFunction?: string): string {
    const query = this.text('query');
    if (query !== '') return query;
    if (legacyFunction !== undefined && legacyFunction !== '') return `SELECT ${legacyFunction}('%s')`;
    const missing = ['select_field', 'table', 'where_field'].filter((name) => this.text(name) === '');
    if (missing.length > 0) {
      throw new PetrelError('config', `${this.path}: query is not set (nor the legacy ${missing.join(', ')})`);
    }
    const conditions = this.text('additional_conditions');
    const base = `SELECT ${this.text('select_field')} FROM ${this.text('table')} WHERE ${this.text('where_field')} = '%s'`;
    return conditions === '' ? base : `${base} ${conditions}`;
  }
}
