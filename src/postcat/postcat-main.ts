/*
 * postcat - shows queue files (postcat(1)): the envelope records, the
 * message content and the recipients extracted from it (with a content filter
 * or redirection from content checks), between Postfix's
 * "*** ENVELOPE RECORDS name ***" style markers. -q takes queue IDs and
 * finds them in the queues; -e, -h and -b limit the output to the envelope,
 * the header or the body. A corrupt file is reported and the exit status
 * is 1, as Postfix's.
 */
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { resolveConfigDir } from '../global/config/config-dir.js';
import { loadConfig } from '../global/config/load-config.js';
import { contentChunks, readQueueFile, type QueueFileInfo } from '../global/queue/queue-file-read.js';
import { queueFilePath, type MessageQueue } from '../global/queue/queue-paths.js';
import { runCommand } from '../util/command-main.js';
import { getoptOrUsage } from '../util/getopt.js';
import { msg } from '../util/msg.js';
import { asctime } from '../util/time-format.js';

const USAGE = 'usage: postcat [-b (body)] [-c config_dir] [-e (envelope)] [-h (header)] [-q (queue IDs)] files...';

/** The queues -q searches, in Postfix's order. */
const SEARCHED: readonly MessageQueue[] = ['incoming', 'active', 'deferred', 'hold', 'maildrop', 'corrupt'];

function write(text: string): void {
  process.stdout.write(text);
}

function envelopeLines(info: QueueFileInfo): string[] {
  const lines = [
    `message_size: ${String(info.contentSize).padStart(15)} ${String(info.headerSize).padStart(15)} ${String(info.recipients.length).padStart(15)}`,
    `message_arrival_time: ${asctime(new Date(info.arrival))}`,
    ...Object.entries(info.attrs).map(([name, value]) => `named_attribute: ${name}=${value}`),
    `sender: ${info.sender}`,
    // Postfix shows its probe flag in the message flags record.
    ...(info.probe === true ? ['verification_probe: yes'] : []),
  ];
  for (const rcpt of info.recipients.filter((r) => !r.extracted)) lines.push(...recipientLines(rcpt));
  return lines;
}

function recipientLines(rcpt: QueueFileInfo['recipients'][number]): string[] {
  const lines: string[] = [];
  if (rcpt.original !== '' && rcpt.original !== rcpt.address) lines.push(`original_recipient: ${rcpt.original}`);
  if (rcpt.notify !== '') lines.push(`dsn_notify_flags: ${rcpt.notify}`);
  if (rcpt.orcpt !== '') lines.push(`dsn_orig_rcpt: ${rcpt.orcpt}`);
  lines.push(`${rcpt.status === '-' ? 'recipient' : 'done_recipient'}: ${rcpt.address}`);
  return lines;
}

async function writeContent(path: string, info: QueueFileInfo, part: 'all' | 'header' | 'body'): Promise<void> {
  let offset = 0;
  for (const chunk of contentChunks(path, info)) {
    const start = offset;
    offset += chunk.length;
    const from = part === 'body' ? Math.max(0, info.headerSize - start) : 0;
    const to = part === 'header' ? Math.min(chunk.length, Math.max(0, info.headerSize - start)) : chunk.length;
    if (to > from && !process.stdout.write(chunk.subarray(from, to))) await once(process.stdout, 'drain');
  }
}

async function show(path: string, name: string, flags: { e: boolean; h: boolean; b: boolean }): Promise<void> {
  const info = await readQueueFile(path);
  const all = !flags.e && !flags.h && !flags.b;
  if (all || flags.e) write(`*** ENVELOPE RECORDS ${name} ***\n${envelopeLines(info).join('\n')}\n`);
  if (all || flags.h || flags.b) {
    if (all) write(`*** MESSAGE CONTENTS ${name} ***\n`);
    if (all || (flags.h && flags.b)) await writeContent(path, info, 'all');
    else if (flags.h) await writeContent(path, info, 'header');
    else await writeContent(path, info, 'body');
  }
  if (all || flags.e) {
    const extracted = info.recipients.filter((r) => r.extracted).flatMap(recipientLines);
    if (info.filter !== undefined) extracted.push(`content_filter: ${info.filter}`);
    if (info.redirect !== undefined) extracted.push(`redirect_to: ${info.redirect}`);
    write(`*** HEADER EXTRACTED ${name} ***\n${extracted.map((line) => `${line}\n`).join('')}`);
    write(`*** MESSAGE FILE END ${name} ***\n`);
  }
}

async function main(argv: string[]): Promise<number> {
  const { options, operands } = getoptOrUsage(argv, 'bc:ehq', USAGE);
  const has = (letter: string): boolean => options.some((o) => o.letter === letter);
  if (operands.length === 0) msg.fatal(USAGE);
  let queueDirectory = '';
  if (has('q')) {
    const cliDir = options.findLast((o) => o.letter === 'c')?.value;
    queueDirectory = loadConfig({ configDir: resolveConfigDir(cliDir) }).params.queue_directory;
  }
  let status = 0;
  for (const operand of operands) {
    let path = operand;
    if (has('q')) {
      const found = SEARCHED.map((queue) => queueFilePath(queueDirectory, queue, operand)).find((p) => existsSync(p));
      if (found === undefined) {
        msg.warn(`no message file for queue id ${operand}`);
        status = 1;
        continue;
      }
      path = found;
    }
    try {
      await show(path, path, { e: has('e'), h: has('h'), b: has('b') });
    } catch (err) {
      msg.error(`${path}: ${(err as Error).message}`);
      status = 1;
    }
  }
  return status;
}

runCommand('postcat', main);
