/*
 * table-config - reads the client configuration file of a table type that
 * has one (redis:/etc/petrel/redis-users.cf, as mysql_table(5) files):
 * main.cf syntax, no $name expansion, each parameter declared once by the
 * table type with its kind and default and converted once at open. A name
 * the type does not declare gets a warning; a missing file or a bad value
 * is a configuration error naming the file. Follows Postfix's cfg_parser(3).
 */
import { convertParam } from '../config/param-convert.js';
import { readMainCf } from '../config/main-cf-read.js';
import type { ParamsOf, ParamTable } from '../params/param-types.js';
import { msg } from '../../util/msg.js';

/** The values of path's settings for the parameters declared in table, defaults filling the rest. */
export function readTableConfig<T extends ParamTable>(path: string, table: T): ParamsOf<T> {
  const { settings } = readMainCf(path);
  for (const name of settings.keys()) {
    if (!Object.hasOwn(table, name)) msg.warn(`${path}: unknown parameter: ${name}`);
  }
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) {
    const text = settings.get(name)?.value ?? (typeof spec.default === 'string' ? spec.default : spec.default(() => ''));
    values[name] = convertParam(`${path}: ${name}`, spec, text);
  }
  return Object.freeze(values) as ParamsOf<T>;
}
