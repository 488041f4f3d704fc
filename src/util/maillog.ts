/*
 * maillog - where daemons' log lines go: a file in syslog line form
 * ("Nov 22 14:46:29 host postfix/smtpd[1234]: text", what pflogsumm and
 * fail2ban read), JSON lines for log shippers, or stderr when no file is
 * set (under systemd that is the journal). Each line is one synchronous
 * append (O_APPEND), so many worker processes can share one file and a
 * line is written before the process can die. Text lines need nothing but
 * write(2); JSON lines are pino's, and pino (about 2 MB of heap and code in
 * every process that loads it) is loaded only by a process that writes
 * JSON. Installed as the msg sink by the worker skeleton and the master;
 * follows Postfix's maillog_file / postlogd(8) line shape.
 */
import { mkdirSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname as osHostname } from 'node:os';
import { dirname } from 'node:path';
import type pinoModule from 'pino';
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

/** How long a write to a full non-blocking pipe (stderr) is retried before the line is given up. */
const PIPE_FULL_RETRIES = 1000;

/** Appends whole lines to a file (or stderr), one write(2) each. */
class LineAppender {
  private constructor(private readonly fd: number) {}

  /** Opens file for appending, making its folder ("" is stderr); throws when it cannot. */
  static open(file: string): LineAppender {
    if (file === '') return new LineAppender(2);
    mkdirSync(dirname(file), { recursive: true });
    return new LineAppender(openSync(file, 'a'));
  }

  write(line: string): void {
    const data = Buffer.from(line);
    let offset = 0;
    for (let retries = 0; offset < data.length; ) {
      try {
        offset += writeSync(this.fd, data, offset);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || ++retries > PIPE_FULL_RETRIES) return;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      }
    }
  }

}

/** Opens the mail log described by options: a sink whose lines are written before it returns; throws when the file cannot be opened. */
export function openMaillog(options: MaillogOptions): MsgSink {
  const host = (options.hostname ?? osHostname()).split('.')[0] as string;
  // Synchronous appends: a write(2) of one line costs microseconds, a round trip through libuv's
  // thread pool costs tens of them (bench/smtp: about 40 µs of CPU per operation on the reference machine).
  const appender = LineAppender.open(options.file);
  if (options.format === 'json') return jsonMaillog(appender, host);
  return (severity, program, text) => appender.write(syslogLine(new Date(), host, program, process.pid, severity, text));
}

/** JSON lines by pino, written through appender. */
function jsonMaillog(appender: LineAppender, host: string): MsgSink {
  const pino = createRequire(import.meta.url)('pino') as typeof pinoModule;
  const logger = pino(
    { base: { host, pid: process.pid }, messageKey: 'message', timestamp: pino.stdTimeFunctions.isoTime, level: 'info' },
    { write: (line: string) => appender.write(line) },
  );
  return (severity, program, text) => {
    const level = severity === 'warning' ? 'warn' : severity === 'panic' ? 'fatal' : severity;
    logger[level]({ program, severity }, text);
  };
}
