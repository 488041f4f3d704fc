/*
 * newaliases - rebuilds every table listed in alias_database, as Postfix's
 * newaliases (sendmail -bi) does: postalias on each of them. Takes -c and
 * MAIL_CONFIG like the other commands.
 */
import { ALIAS_COMMAND } from './postalias-command.js';
import { runTableCommand } from '../global/tables/table-command.js';
import { runCommand } from '../util/command-main.js';
import { getoptOrUsage } from '../util/getopt.js';

runCommand('newaliases', (argv) => {
  const { options } = getoptOrUsage(argv, 'c:', 'usage: newaliases [-c config_dir]');
  const forwarded = options.flatMap((o) => ['-c', o.value as string]);
  return runTableCommand(ALIAS_COMMAND, forwarded, (aliasDatabase) => aliasDatabase);
});
