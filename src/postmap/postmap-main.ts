/*
 * postmap - Petrel's lookup table manager (postmap(1)): builds hash, btree
 * and lmdb tables from "key value" source files, and queries, edits and
 * dumps any table type. The work is in global/tables/table-command.ts.
 */
import { parseTableSource, readTableSource } from '../global/tables/table-source.js';
import { runTableCommand } from '../global/tables/table-command.js';
import { runCommand } from '../util/command-main.js';

runCommand('postmap', (argv) =>
  runTableCommand({ name: 'postmap', parse: parseTableSource, read: readTableSource, separator: '\t' }, argv),
);
