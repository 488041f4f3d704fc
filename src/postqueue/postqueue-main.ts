/*
 * postqueue - the queue for users (postqueue(1)): -p lists it in mailq's
 * columns, -j as one JSON object per message with Postfix's field names,
 * -f asks qmgr to deliver everything now, -i ID one deferred message, -s
 * site the deferred mail with a recipient at site (each made due now, then
 * qmgr is told to look). mailq is "postqueue -p". Petrel
 * reads the queue directly (there is no showq daemon yet), so the caller
 * needs read access to the queue directory; without it the listing fails
 * ("Queue report unavailable"), it never claims an empty queue.
 */
import { basename } from 'node:path';
import { resolveConfigDir } from '../global/config/config-dir.js';
import { loadConfig } from '../global/config/load-config.js';
import { QMGR_TRIGGER, triggerQmgr } from '../global/trigger-clnt.js';
import { listMessages, type ListedMessage } from '../global/queue/queue-list.js';
import { readQueueFile } from '../global/queue/queue-file-read.js';
import { isQueueId } from '../global/queue/queue-id.js';
import { listQueue, setNextAttempt } from '../global/queue/queue-move.js';
import { queueFilePath } from '../global/queue/queue-paths.js';
import { EX_NOPERM } from '../global/sysexits.js';
import { tableContext } from '../global/tables/table.js';
import { refusedUser } from '../global/user-access.js';
import { runCommand } from '../util/command-main.js';
import { getoptOrUsage } from '../util/getopt.js';
import { msg } from '../util/msg.js';

const USAGE = 'usage: postqueue [-c config_dir] -f | -i queue_id | -j | -p | -s site';

function arrivalText(ms: number): string {
  const text = new Date(ms).toString();
  return `${text.slice(0, 3)} ${text.slice(4, 10)} ${text.slice(16, 24)}`;
}

/** mailq's listing. */
export function formatMailq(messages: readonly ListedMessage[]): string {
  if (messages.length === 0) return 'Mail queue is empty\n';
  const lines = ['-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------'];
  let bytes = 0;
  for (const m of messages) {
    bytes += m.size;
    const mark = m.queue === 'active' ? '*' : m.queue === 'hold' ? '!' : ' ';
    lines.push(`${`${m.id}${mark}`.padEnd(11)} ${String(m.size).padStart(8)} ${arrivalText(m.arrival)}  ${m.sender === '' ? 'MAILER-DAEMON' : m.sender}`);
    for (const r of m.recipients) {
      if (r.reason !== undefined) lines.push(`${' '.repeat(41)}(${r.reason})`);
      lines.push(`${' '.repeat(41)}${r.address}`);
    }
    lines.push('');
  }
  const requests = messages.length === 1 ? 'Request' : 'Requests';
  lines.push(`-- ${Math.ceil(bytes / 1024)} Kbytes in ${messages.length} ${requests}.`);
  return `${lines.join('\n')}\n`;
}

/** postqueue -j: one JSON object per line. */
export function formatJson(messages: readonly ListedMessage[]): string {
  return messages
    .map((m) =>
      JSON.stringify({
        queue_name: m.queue,
        queue_id: m.id,
        arrival_time: Math.floor(m.arrival / 1000),
        message_size: m.size,
        forced_expire: false,
        sender: m.sender,
        recipients: m.recipients.map((r) => (r.reason === undefined ? { address: r.address } : { address: r.address, delay_reason: r.reason })),
      }),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** Makes the deferred messages among ids whose pending recipients pass wanted due now; returns how many. */
async function makeDue(queueDirectory: string, ids: readonly string[], wanted: (addresses: string[]) => boolean): Promise<number> {
  let count = 0;
  for (const id of ids) {
    if (!isQueueId(id)) continue;
    const path = queueFilePath(queueDirectory, 'deferred', id);
    try {
      const info = await readQueueFile(path);
      if (!wanted(info.recipients.filter((r) => r.status === '-').map((r) => r.address))) continue;
      await setNextAttempt(path, Date.now());
      count++;
    } catch {
      // not (or no longer) in the deferred queue
    }
  }
  return count;
}

async function main(argv: string[]): Promise<number> {
  const mailq = basename(process.argv[1] ?? '').startsWith('mailq');
  const { options } = getoptOrUsage(argv, mailq ? 'c:' : 'c:fi:jps:', mailq ? 'usage: mailq [-c config_dir]' : USAGE);
  const letters = new Set(options.map((o) => o.letter));
  if (mailq) letters.add('p');
  const modes = ['f', 'i', 'j', 'p', 's'].filter((l) => letters.has(l));
  if (modes.length !== 1) return msg.fatal(USAGE);
  const { params } = loadConfig({ configDir: resolveConfigDir(options.findLast((o) => o.letter === 'c')?.value) });
  const flushing = letters.has('f') || letters.has('i') || letters.has('s');
  const refused = flushing
    ? await refusedUser(params.authorized_flush_users, tableContext(params), 'flush the mail queue', params.mail_owner)
    : await refusedUser(params.authorized_mailq_users, tableContext(params), 'view the mail queue', params.mail_owner);
  if (refused !== undefined) return msg.fatal(refused, EX_NOPERM);
  if (letters.has('f')) {
    if (!(await triggerQmgr(params.queue_directory, QMGR_TRIGGER.flush))) return msg.fatal('Cannot flush mail queue - mail system is down');
    return 0;
  }
  if (letters.has('i') || letters.has('s')) {
    const id = options.find((o) => o.letter === 'i')?.value;
    const site = options.find((o) => o.letter === 's')?.value?.toLowerCase();
    const due = id !== undefined ? await makeDue(params.queue_directory, [id], () => true) : await makeDue(params.queue_directory, await listQueue(params.queue_directory, 'deferred'), (addresses) => addresses.some((a) => a.toLowerCase().endsWith(`@${site}`)));
    if (id !== undefined && due === 0) return msg.fatal(`${id}: no such message in the deferred queue`);
    if (!(await triggerQmgr(params.queue_directory, QMGR_TRIGGER.scanDeferred))) return msg.fatal('Cannot flush mail queue - mail system is down');
    return 0;
  }
  let messages: ListedMessage[];
  try {
    messages = await listMessages(params.queue_directory);
  } catch (err) {
    return msg.fatal(`Queue report unavailable - ${(err as Error).message} (run it as root or ${params.mail_owner})`);
  }
  process.stdout.write(letters.has('j') ? formatJson(messages) : formatMailq(messages));
  return 0;
}

runCommand(basename(process.argv[1] ?? '').startsWith('mailq') ? 'mailq' : 'postqueue', main);
