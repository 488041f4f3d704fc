/*
 * log-params - how the mail log is written: maillog_format, Petrel's own
 * parameter (Postfix has no such setting; its postlogd(8) writes syslog
 * lines only), and the maillog options every opener of the log builds from
 * the parameters. Read by the master, the worker skeleton and the commands
 * that log (postsuper); util/maillog.ts writes the lines.
 */
import type { MaillogOptions } from '../../util/maillog.js';
import { defineParams } from './param-types.js';

/** The mail log's parameters. */
export const LOG_PARAMS = defineParams({
  maillog_format: {
    kind: 'string',
    default: 'text',
    choices: ['text', 'json'],
    doc: "Petrel's own: the mail log's lines, text (syslog lines as Postfix writes them) or json (one object a line with the same text in its message field, for log shippers)",
  },
});

/** The parameters the mail log is opened from. */
export interface MaillogParams {
  readonly maillog_file: string;
  readonly maillog_format: string;
  readonly myhostname: string;
}

/** The options to open the mail log with (maillog_format was checked against its choices at load). */
export function maillogOptions(params: MaillogParams): MaillogOptions {
  return { file: params.maillog_file, format: params.maillog_format === 'json' ? 'json' : 'text', hostname: params.myhostname };
}
