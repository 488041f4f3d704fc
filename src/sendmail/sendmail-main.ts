/*
 * sendmail - the Sendmail-compatible submission command (sendmail(1)):
 * reads a message from standard input (up to a line with a single "."
 * unless -i/-oi, or to the end), writes it with its envelope into maildrop/
 * and wakes pickup, which hands it to cleanup. Flags: -f sender, -F full
 * name, -t (recipients from To:/Cc:/Bcc:), -i/-oi, -N dsn_notify, -R ret,
 * -V envid, -bp (mailq), -bi (newaliases), -bs (SMTP on standard input
 * and output, served by smtpd's stand-alone mode), -q (flush the queue).
 * Other -o options are accepted and ignored with a warning, except -oi.
 */
import { spawnSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { resolveConfigDir } from '../global/config/config-dir.js';
import { loadConfig } from '../global/config/load-config.js';
import { QMGR_TRIGGER, triggerPickup, triggerQmgr } from '../global/trigger-clnt.js';
import { QueueFileWriter } from '../global/queue/queue-file-write.js';
import { tableContext } from '../global/tables/table.js';
import { EX_NOPERM } from '../global/sysexits.js';
import { refusedUser } from '../global/user-access.js';
import { runCommand } from '../util/command-main.js';
import { getoptOrUsage } from '../util/getopt.js';
import { msg } from '../util/msg.js';

const USAGE = 'usage: sendmail [-c config_dir] [-f sender] [-F full_name] [-i] [-t] [-N dsn] [-R ret] [-V envid] [-bp|-bi|-q] recipient...';

/** Normalizes stdin chunks to LF lines; stops at a lone "." unless dotIsData. */
class StdinReader {
  private pending = '';
  done = false;

  constructor(private readonly dotEnds: boolean) {}

  take(chunk: Buffer): Buffer {
    const text = this.pending + chunk.toString('latin1');
    const lines = text.split(/\r?\n/);
    this.pending = lines.pop() as string;
    const out: string[] = [];
    for (const line of lines) {
      if (this.dotEnds && line === '.') {
        this.done = true;
        break;
      }
      out.push(`${line.replace(/\r/g, '\n')}\n`);
    }
    return Buffer.from(out.join(''), 'latin1');
  }

  end(): Buffer {
    const rest = this.pending === '' || this.done || (this.dotEnds && this.pending === '.') ? '' : `${this.pending}\n`;
    this.pending = '';
    return Buffer.from(rest, 'latin1');
  }
}

function sibling(command: string, args: readonly string[]): number {
  const bin = join(dirname(process.argv[1] ?? ''), '..', '..', '..', 'bin', command);
  const run = spawnSync(bin, args, { stdio: 'inherit' });
  return run.status ?? 1;
}

async function main(argv: string[]): Promise<number> {
  const { options, operands } = getoptOrUsage(argv, 'B:b:C:c:F:f:h:iN:n:o:qR:r:tV:vX:', USAGE);
  const value = (letter: string): string | undefined => options.findLast((o) => o.letter === letter)?.value;
  const has = (letter: string): boolean => options.some((o) => o.letter === letter);
  const configArgs = value('C') ?? value('c');
  const mode = value('b') ?? 'm';
  if (mode === 'p') return sibling('postqueue', [...(configArgs ? ['-c', configArgs] : []), '-p']);
  if (mode === 'i') return sibling('newaliases', configArgs ? ['-c', configArgs] : []);
  if (mode !== 'm' && mode !== 's') return msg.fatal(`unsupported -b option: -b${mode}`);
  const { params } = loadConfig({ configDir: resolveConfigDir(configArgs) });
  if (has('q')) {
    const refused = await refusedUser(params.authorized_flush_users, tableContext(params), 'flush the mail queue', params.mail_owner);
    if (refused !== undefined) return msg.fatal(refused, EX_NOPERM);
    if (!(await triggerQmgr(params.queue_directory, QMGR_TRIGGER.flush))) return msg.fatal('Cannot flush mail queue - mail system is down');
    return 0;
  }
  // As Postfix's sendmail: a user authorized_submit_users does not list (root included) is refused before anything is read.
  const refused = await refusedUser(params.authorized_submit_users, tableContext(params), 'submit mail');
  if (refused !== undefined) return msg.fatal(refused, EX_NOPERM);
  if (mode === 's') {
    // As Postfix's sendmail does: smtpd's stand-alone mode serves the session, as this user.
    const smtpd = join(params.daemon_directory, 'smtpd', 'smtpd-main.js');
    return spawnSync(process.execPath, [smtpd, '-S', '-c', resolveConfigDir(configArgs)], { stdio: 'inherit' }).status ?? 1;
  }
  for (const o of options) if (o.letter === 'o' && o.value !== 'i') msg.warn(`-o${o.value ?? ''} option ignored`);
  const dotIsData = has('i') || options.some((o) => o.letter === 'o' && o.value === 'i');
  const extract = has('t');
  if (operands.length === 0 && !extract) return msg.fatal('no recipients specified');
  const sender = value('f') ?? value('r') ?? userInfo().username;
  const notify = value('N')?.toUpperCase() ?? '';
  const attrs: Record<string, string> = {};
  if (extract) attrs.extract = 'yes';
  const fullName = value('F');
  if (fullName !== undefined) attrs.full_name = fullName;
  const envid = value('V');
  if (envid !== undefined) attrs.envid = envid;
  const ret = value('R');
  if (ret !== undefined) attrs.ret = ret.toUpperCase();
  const writer = await QueueFileWriter.create(params.queue_directory, 'maildrop');
  try {
    writer.envelope({ arrival: Date.now(), sender: sender === '<>' ? '' : sender, attrs });
    for (const rcpt of operands.flatMap((o) => o.split(',')).map((o) => o.trim()).filter(Boolean)) {
      writer.recipient({ address: rcpt, original: rcpt, notify, orcpt: '' });
    }
    writer.beginContent();
    const reader = new StdinReader(!dotIsData);
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      await writer.writeContent(reader.take(chunk));
      if (reader.done) break;
    }
    await writer.writeContent(reader.end());
    await writer.endContent();
    await writer.commit();
  } catch (err) {
    await writer.abort();
    return msg.fatal(`cannot queue the message: ${(err as Error).message}`);
  }
  if (!(await triggerPickup(params.queue_directory))) msg.warn('the mail system is not running: the message waits in maildrop/ until it starts');
  return 0;
}

runCommand('sendmail', main);
