/*
 * postalias - Petrel's alias database manager (postalias(1)): builds hash,
 * btree and lmdb tables from aliases(5) files, and queries, edits and dumps
 * them. The work is in global/tables/table-command.ts.
 */
import { ALIAS_COMMAND } from './postalias-command.js';
import { runTableCommand } from '../global/tables/table-command.js';
import { runCommand } from '../util/command-main.js';

runCommand('postalias', (argv) => runTableCommand(ALIAS_COMMAND, argv));
