/*
 * table-mysql-options - reads MySQL/MariaDB option files (my.cnf) for
 * mysql: tables, as the client library does for Postfix: `option_file`
 * names one file, otherwise the default files are read unless
 * `option_group` is empty; the [client] groups are read, then the
 * option_group one, later settings winning. [group] headers, name = value
 * or a bare name (a flag), # and ; comments, quoted values, !include and
 * !includedir are understood; names are compared with - and _ alike. The
 * connection settings Petrel uses are user, password, port, socket and
 * the ssl-* ones; an ssl setting Petrel cannot honour is an
 * error. Used by table-mysql.ts; follows mysql_table(5) option_file and
 * option_group.
 */
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PetrelError } from '../errors.js';
import { readSourceText } from './table-source.js';

/** The files the client library reads when no option_file is named, in order. */
const DEFAULT_OPTION_FILES = ['/etc/my.cnf', '/etc/mysql/my.cnf', join(homedir(), '.my.cnf')];

/** The groups every client reads (MariaDB's Connector/C adds the last two). */
const CLIENT_GROUPS = ['client', 'client-server', 'client-mariadb'];

/** The option-file names Petrel's mysql client acts on. */
const USED = ['user', 'password', 'port', 'socket', 'ssl', 'ssl-ca', 'ssl-capath', 'ssl-cert', 'ssl-key', 'ssl-cipher', 'ssl-verify-server-cert'];

/** The connection settings found in the option files, by their dashed names. */
export type MysqlOptions = ReadonlyMap<string, string>;

function unquote(value: string): string {
  const match = /^(["'])(.*)\1$/.exec(value);
  return match === null ? value : (match[2] as string);
}

/** Adds the settings of wanted groups in path (and what it includes) to into. */
function readOptionFile(path: string, groups: readonly string[], into: Map<string, string>, depth: number): void {
  if (depth > 10) throw new PetrelError('config', `${path}: option files include each other too deeply`);
  let group = '';
  for (const raw of readSourceText(path).split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const include = /^!include(dir)?\s+(.+)$/.exec(line);
    if (include !== null) {
      const target = resolve(dirname(path), include[2] as string);
      const files = include[1] === undefined ? [target] : listCnf(target);
      for (const file of files) readOptionFile(file, groups, into, depth + 1);
      continue;
    }
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header !== null) {
      group = (header[1] as string).trim().toLowerCase();
      continue;
    }
    if (!groups.includes(group)) continue;
    const eq = line.indexOf('=');
    const name = (eq < 0 ? line : line.slice(0, eq)).trim().toLowerCase().replace(/_/g, '-');
    const value = eq < 0 ? '1' : unquote(line.slice(eq + 1).trim());
    if (name.startsWith('ssl') && !USED.includes(name)) {
      throw new PetrelError('config', `${path}: [${group}] ${name} is not supported by Petrel's mysql client; refusing to connect with less TLS than configured`);
    }
    if (USED.includes(name)) into.set(name, value);
  }
}

/** The .cnf files of an !includedir directory, sorted. */
function listCnf(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => name.endsWith('.cnf')).sort().map((name) => join(dir, name));
  } catch {
    return [];
  }
}

/** The option-file settings for a table with these option_file and option_group values. */
export function readMysqlOptions(optionFile: string, optionGroup: string): MysqlOptions {
  const found = new Map<string, string>();
  if (optionFile === '' && optionGroup === '') return found;
  const groups = [...CLIENT_GROUPS, optionGroup.toLowerCase()].filter((g) => g !== '');
  const files = optionFile !== '' ? [optionFile] : DEFAULT_OPTION_FILES.filter((file) => existsSync(file));
  for (const file of files) readOptionFile(file, groups, found, 0);
  return found;
}
