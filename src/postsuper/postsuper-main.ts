/*
 * postsuper - queue maintenance for the administrator (postsuper(1)):
 * -d ID|ALL deletes, -h ID|ALL puts on hold, -H ID|ALL releases from hold,
 * -r ID|ALL requeues (through maildrop/, so pickup and cleanup process the
 * message again — address rewriting included — under a new queue ID, its
 * delivered recipients left out), each optionally limited to one queue and reading IDs from standard
 * input for "-"; -s checks the queue: stale temporary files (their writer,
 * named by the PID in the queue ID, is gone, or they are a day old) are
 * removed and unreadable queue files moved to corrupt/; "petrel start" and
 * "petrel check" run -s. Prints Postfix's summary lines
 * ("postsuper: Deleted: 1 message") and logs each message it touches.
 */
import { readFileSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveConfigDir } from '../global/config/config-dir.js';
import { loadConfig } from '../global/config/load-config.js';
import { QMGR_TRIGGER, triggerPickup, triggerQmgr } from '../global/trigger-clnt.js';
import { removeDeferReasons } from '../global/queue/queue-defer-log.js';
import { readQueueFile } from '../global/queue/queue-file-read.js';
import { isQueueId, queueIdPids } from '../global/queue/queue-id.js';
import { listQueue, moveMessage } from '../global/queue/queue-move.js';
import { isMessageQueue, queueFilePath, type MessageQueue } from '../global/queue/queue-paths.js';
import { runCommand } from '../util/command-main.js';
import { getoptOrUsage } from '../util/getopt.js';
import { maillogOptions } from '../global/params/log-params.js';
import { openMaillog } from '../util/maillog.js';
import { msg, setMsgSink, stderrSink } from '../util/msg.js';

const USAGE = 'usage: postsuper [-c config_dir] [-d queue_id|ALL] [-h queue_id|ALL] [-H queue_id|ALL] [-r queue_id|ALL] [-s] [queue...]';
const STALE_TEMP_MS = 24 * 3600 * 1000;
/** Linux's largest PID when /proc does not say (the 64-bit default). */
const DEFAULT_PID_MAX = 4_194_304;

type Action = 'd' | 'h' | 'H' | 'r';

/** Which queues each action looks in by default. */
const DEFAULT_QUEUES: Record<Action, readonly MessageQueue[]> = {
  d: ['hold', 'incoming', 'active', 'deferred'],
  h: ['incoming', 'active', 'deferred'],
  H: ['hold'],
  r: ['incoming', 'active', 'deferred', 'hold'],
};

const SUMMARY: Record<Action, string> = { d: 'Deleted', h: 'Placed on hold', H: 'Released from hold', r: 'Requeued' };

async function apply(queueDirectory: string, action: Action, id: string, queue: MessageQueue): Promise<boolean> {
  try {
    if (action === 'd') {
      await rm(queueFilePath(queueDirectory, queue, id));
      await removeDeferReasons(queueDirectory, id);
      msg.info(`${id}: removed`);
    } else if (action === 'h') {
      await moveMessage(queueDirectory, id, queue, 'hold', true);
      msg.info(`${id}: placed on hold`);
    } else if (action === 'H') {
      await moveMessage(queueDirectory, id, queue, 'deferred', true);
      msg.info(`${id}: released from hold`);
    } else {
      await moveMessage(queueDirectory, id, queue, 'maildrop', true);
      await removeDeferReasons(queueDirectory, id);
      msg.info(`${id}: requeued`);
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') msg.warn(`${id}: ${(err as Error).message}`);
    return false;
  }
}

function pidMax(): number {
  try {
    return Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim()) || DEFAULT_PID_MAX;
  } catch {
    return DEFAULT_PID_MAX;
  }
}

/** True when no process that could have written the temporary file of id runs (a killed cleanup or sendmail). */
function writerGone(id: string): boolean {
  for (const pid of queueIdPids(id, pidMax())) {
    try {
      process.kill(pid, 0);
      return false;
    } catch (err) {
      // EPERM: a process of another user holds that PID, and it may be the writer
      if ((err as NodeJS.ErrnoException).code === 'EPERM') return false;
    }
  }
  return true;
}

/** True for a temporary queue file nobody will finish: its writer is gone, or it is too old to be in progress. */
async function staleTemp(path: string, id: string): Promise<boolean> {
  if (isQueueId(id) && writerGone(id)) return true;
  const st = await stat(path);
  // a file taken from recycle/ keeps its old mtime; the rename that took it set its ctime
  return Date.now() - Math.max(st.mtimeMs, st.ctimeMs) > STALE_TEMP_MS;
}

async function check(queueDirectory: string): Promise<void> {
  for (const queue of ['incoming', 'active', 'deferred', 'hold', 'maildrop'] as const) {
    const dir = join(queueDirectory, queue);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const path = join(dir, name);
      const temp = /^\.([0-9A-Z]+)\.tmp$/.exec(name);
      if (temp !== null) {
        if (await staleTemp(path, temp[1] as string)) {
          await rm(path, { force: true });
          msg.warn(`${queue}/${name}: removed a stale temporary file`);
        }
        continue;
      }
      if (!isQueueId(name)) {
        msg.warn(`${queue}/${name}: not a queue file name; left alone`);
        continue;
      }
      if (queue === 'maildrop') continue;
      try {
        await readQueueFile(path);
      } catch (err) {
        msg.warn(`${name}: ${(err as Error).message}; moved to corrupt`);
        await moveMessage(queueDirectory, name, queue, 'corrupt');
      }
    }
  }
}

async function main(argv: string[]): Promise<number> {
  const { options, operands } = getoptOrUsage(argv, 'c:d:h:H:r:s', USAGE);
  const { params } = loadConfig({ configDir: resolveConfigDir(options.findLast((o) => o.letter === 'c')?.value) });
  const log = openMaillog(maillogOptions(params));
  setMsgSink((severity, program, text) => {
    log(severity, `${params.syslog_name}/postsuper`, text);
    if (severity !== 'info') stderrSink(severity, program, text);
  });
  for (const queue of operands) if (!isMessageQueue(queue)) return msg.fatal(`invalid directory name: ${queue}`);
  const dir = params.queue_directory;
  let touched = false;
  for (const option of options) {
    if (option.letter === 's') {
      await check(dir);
      continue;
    }
    if (!['d', 'h', 'H', 'r'].includes(option.letter)) continue;
    const action = option.letter as Action;
    const queues = operands.length > 0 ? (operands as MessageQueue[]) : DEFAULT_QUEUES[action];
    const wanted = option.value === '-' ? readFileSync(0, 'utf8').split(/\s+/).filter(Boolean) : [option.value as string];
    let count = 0;
    for (const queue of queues) {
      const ids = wanted.includes('ALL') ? await listQueue(dir, queue) : wanted.filter((id) => isQueueId(id));
      for (const id of ids) if (await apply(dir, action, id, queue)) count++;
    }
    for (const id of wanted) if (id !== 'ALL' && !isQueueId(id)) msg.warn(`invalid mail queue id: ${id}`);
    if (count > 0) {
      stderrSink('info', 'postsuper', `${SUMMARY[action]}: ${count} message${count === 1 ? '' : 's'}`);
      if (action !== 'd') touched = true;
    }
  }
  if (touched) {
    await triggerQmgr(dir, QMGR_TRIGGER.scanIncoming);
    await triggerPickup(dir);
  }
  return 0;
}

runCommand('postsuper', main);
