/*
 * smtpd-standalone - smtpd's stand-alone mode ("smtpd -S -c config_dir"),
 * which "sendmail -bs" runs as the invoking user, as Postfix's sendmail runs
 * its smtpd: one SMTP session on standard input and output, without the
 * master, no TLS or AUTH, the client a local user whose recipients go
 * unchecked to cleanup and qmgr, each message written into maildrop/ for
 * pickup. A local script may send all its commands at once and end lines
 * with LF only, so the pipelining check is off and a bare LF ends a line
 * (smtpd_forbid_bare_newline = no). Diagnostics go to the mail log when the
 * user may write it, else only warnings reach standard error.
 */
import { Duplex } from 'node:stream';
import { AddressResolver } from '../global/addr/addr-resolve.js';
import { loadConfig } from '../global/config/load-config.js';
import { maillogOptions } from '../global/params/log-params.js';
import { openMaillog } from '../util/maillog.js';
import { setMsgSink, setProgramName } from '../util/msg.js';
import { SmtpChat } from './smtpd-chat.js';
import { restrictionClasses, SmtpdChecks } from './smtpd-check-config.js';
import { NO_RECIPIENT_MAPS } from './smtpd-recipient-maps.js';
import { maildropSink } from './smtpd-maildrop.js';
import { runSession } from './smtpd-serve.js';
import { SmtpdSession } from './smtpd-session.js';

/** Serves one session on stdin/stdout; resolves with the exit status. */
export async function serveStandalone(configDir: string): Promise<number> {
  const config = loadConfig({ configDir, overrides: { smtpd_forbid_unauth_pipelining: 'no', smtpd_forbid_bare_newline: 'no' } });
  const { params } = config;
  setProgramName(`${params.syslog_name}/smtpd`);
  try {
    const log = openMaillog(maillogOptions(params));
    if (params.maillog_file !== '') setMsgSink(log);
  } catch {
    setMsgSink((severity, program, text) => {
      if (severity !== 'info') process.stderr.write(`${program}: ${severity}: ${text}\n`);
    });
  }
  const resolver = await AddressResolver.open(params);
  const checks = await SmtpdChecks.open(params, resolver, { recipientMaps: NO_RECIPIENT_MAPS, senderLogins: undefined, relayClientCerts: undefined, ehloKeywordMaps: undefined }, restrictionClasses(params, (name) => config.value(name)));
  const services = { params, checks, tls: undefined, sasl: undefined, openSink: maildropSink(params), local: true };
  const stdio = Duplex.from({ readable: process.stdin, writable: process.stdout });
  const client = { name: 'localhost', reverseName: 'localhost', nameTempFail: false, address: '127.0.0.1', port: 0, localAddress: '127.0.0.1', localPort: 0 };
  await runSession(new SmtpdSession(services, client, stdio, new SmtpChat(params.smtpd_history_flush_threshold)), Buffer.alloc(0));
  return 0;
}
