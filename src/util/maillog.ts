/*
 * maillog - where daemons' log lines go: a file in syslog line form
 * ("Nov 22 14:46:29 host postfix/smtpd[1234]: text", what pflogsumm and
 * fail2ban read), JSON lines for log shippers, or stderr when no file is
 * set (under systemd that is the journal). Built on pino and its
 * sonic-boom destination: each line is one synchronous append, so many
 * worker processes can share one file and a line is written before the
 * process can die. Installed as the msg sink by the worker skeleton and
 * the master; follows Postfix's maillog_file / postlogd(8) line shape.
 */
import { hostname as osHostname } from 'node:os';
import { once } from 'node:events';
import pino from 'pino';
import type { MsgSink, Severity } from './msg.js';
import { syslogTime } from './time-format.js';

/** Where and how to write. */
export interface MaillogOptions {
  /** A file path; "" for stderr. */
  readonly file: string;
  readonly format: 'text' | 'json';
  /** The host name in each line (Postfix uses myhostname's first label). */
  readonly hostname?: string;
}

/** One log line in syslog form, severity word included as Postfix writes it. */
export function syslogLine(when: Date, host: string, program: string, pid: number, severity: Severity, text: string): string {
  const label = severity === 'info' ? '' : `${severity}: `;
  return `${syslogTime(when)} ${host} ${program}[${pid}]: ${label}${text}\n`;
}

type Destination = ReturnType<typeof pino.destination>;

/** Writes out buffered lines, first waiting (briefly) for a log file that is still being opened. */
async function flushWhenReady(destination: Destination): Promise<void> {
  if ((destination as unknown as { fd: number }).fd < 0) {
    await Promise.race([once(destination, 'ready'), new Promise((resolve) => setTimeout(resolve, 2000))]);
  }
  try {
    destination.flushSync();
  } catch {
    // the file could not be opened: the error was reported on stderr
  }
}

/** A sink writing to the mail log, and a flush for orderly exits. */
export interface Maillog {
  readonly sink: MsgSink;
  /** Writes out what is buffered (call before exiting, so a fatal line is not lost). */
  flush(): Promise<void>;
}

/** Opens the mail log described by options. */
export function openMaillog(options: MaillogOptions): Maillog {
  const host = (options.hostname ?? osHostname()).split('.')[0] as string;
  // Synchronous appends: a write(2) of one line costs microseconds, a round trip through libuv's
  // thread pool costs tens of them (bench/smtp: about 40 µs of CPU per operation on the reference machine).
  const destination = pino.destination({ dest: options.file === '' ? 2 : options.file, append: true, mkdir: true, sync: true });
  if (options.format === 'json') {
    const logger = pino(
      { base: { host, pid: process.pid }, messageKey: 'message', timestamp: pino.stdTimeFunctions.isoTime, level: 'info' },
      destination,
    );
    return {
      sink: (severity, program, text) => {
        const level = severity === 'warning' ? 'warn' : severity === 'panic' ? 'fatal' : severity;
        logger[level]({ program, severity }, text);
      },
      flush: () => flushWhenReady(destination),
    };
  }
  return {
    sink: (severity, program, text) => destination.write(syslogLine(new Date(), host, program, process.pid, severity, text)),
    flush: () => flushWhenReady(destination),
  };
}
