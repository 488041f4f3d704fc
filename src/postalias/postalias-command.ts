/*
 * postalias-command - what postalias and newaliases tell the shared table
 * command driver: aliases(5) source syntax and "key: value" output.
 */
import { parseAliases, readAliases } from '../global/tables/alias-source.js';
import type { TableCommand } from '../global/tables/table-command.js';

/** postalias's flavour of the table command. */
export const ALIAS_COMMAND: TableCommand = { name: 'postalias', parse: parseAliases, read: readAliases, separator: ':\t' };
