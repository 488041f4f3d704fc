/*
 * table-config - reads the client configuration file of a table type that
 * has one (mysql:, pgsql:, sqlite: and redis:, as /etc/petrel/mysql-users.cf):
 * main.cf syntax (name = value, continuation lines, # comments) without
 * $name expansion, as Postfix's cfg_parser(3). Each type declares its
 * settings once, with kind, default and doc as main.cf parameters are
 * declared, and they are converted and checked once at open. A name no
 * declaration knows is warned about, except a tls_* name, which is an
 * error, so that a file never runs with less TLS than it asks for. A name
 * that is not a path (the legacy form mysql:name, its settings in main.cf
 * as name_hosts ...) is refused. A missing file or a bad value is an error
 * naming the file. Used by table-sql.ts, the SQL drivers and table-redis.ts;
 * follows mysql_table(5), pgsql_table(5) and sqlite_table(5).
 */
import { isAbsolute } from 'node:path';
import { parseMainCf, type MainCfSetting } from '../config/main-cf-read.js';
import { convertParam } from '../config/param-convert.js';
import { PetrelError } from '../errors.js';
import type { ParamsOf, ParamTable } from '../params/param-types.js';
import { msg } from '../../util/msg.js';
import { readSourceText } from './table-source.js';

/** One table configuration file, read and checked against the declarations of its type. */
export class TableConfig {
  /** The values already converted, by declaration table: each is converted once. */
  private readonly converted = new Map<ParamTable, unknown>();

  private constructor(
    /** The configuration file. */
    readonly path: string,
    private readonly settings: ReadonlyMap<string, MainCfSetting>,
  ) {}

  /** Reads the file of a type:path table; declared holds every setting the type understands. */
  static read(type: string, path: string, declared: readonly ParamTable[]): TableConfig {
    if (!isAbsolute(path) && !path.startsWith('.')) {
      throw new PetrelError('table_spec', `${type}:${path}: the main.cf form (parameters named ${path}_hosts ...) is not supported: name a configuration file by its path`);
    }
    const settings = new Map<string, MainCfSetting>();
    for (const setting of parseMainCf(readSourceText(path), path).settings.values()) {
      if (declared.some((table) => Object.hasOwn(table, setting.name))) {
        settings.set(setting.name, setting);
      } else if (setting.name.startsWith('tls_')) {
        throw new PetrelError('config', `${path}, line ${setting.line}: ${type}: ${setting.name} is not supported by Petrel's ${type} client; refusing to connect with less TLS than configured`);
      } else {
        msg.warn(`${path}, line ${setting.line}: ${type}: unused parameter: ${setting.name}=${setting.value}`);
      }
    }
    return new TableConfig(path, settings);
  }

  /** The typed values of table's settings, each from the file or else its declared default. */
  values<T extends ParamTable>(table: T): ParamsOf<T> {
    const done = this.converted.get(table);
    if (done !== undefined) return done as ParamsOf<T>;
    const values: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(table)) {
      const text = this.settings.get(name)?.value ?? (typeof spec.default === 'string' ? spec.default : spec.default(() => ''));
      values[name] = convertParam(`${this.path}: ${name}`, spec, text);
    }
    this.converted.set(table, Object.freeze(values));
    return values as ParamsOf<T>;
  }

  /** True when the file sets name (even to an empty value), for settings whose absence defers to another source. */
  isSet(name: string): boolean {
    return this.settings.has(name);
  }

  /** The error for a setting that must not be empty. */
  notSet(name: string): PetrelError {
    return new PetrelError('config', `${this.path}: ${name} is not set`);
  }
}

/** The values of a type's one declaration table, read from path. */
export function readTableConfig<T extends ParamTable>(type: string, path: string, table: T): ParamsOf<T> {
  return TableConfig.read(type, path, [table]).values(table);
}
