/*
 * queue-move - moves a message between queues by rename() (never a copy)
 * (durable on request, by fsync()ing both directories), and lists the
 * message files of a queue. Used by qmgr and postsuper.
 */
import { renameSync } from 'node:fs';
import { readdir, utimes } from 'node:fs/promises';
import { isQueueId } from './queue-id.js';
import { queueFilePath, queuePath, type MessageQueue } from './queue-paths.js';
import { fsyncDirectory } from '../../util/file-io.js';

/**
 * Moves message id from one queue to another. qmgr's own moves need no
 * fsync: after a crash the message is in one queue or the other, and every
 * queue is looked at again; an administrator's move (hold, release) asks
 * for durable so it survives a power loss.
 */
export async function moveMessage(queueDirectory: string, id: string, from: MessageQueue, to: MessageQueue, durable = false): Promise<string> {
  const source = queueFilePath(queueDirectory, from, id);
  const target = queueFilePath(queueDirectory, to, id);
  renameSync(source, target);
  if (durable) {
    await fsyncDirectory(target);
    await fsyncDirectory(source);
  }
  return target;
}

/** The queue IDs in a queue, oldest first (IDs sort by arrival). */
export async function listQueue(queueDirectory: string, queue: MessageQueue): Promise<string[]> {
  const names = await readdir(queuePath(queueDirectory, queue)).catch(() => [] as string[]);
  return names.filter(isQueueId).sort();
}

/** Sets a deferred message's next attempt time (kept as the file's modification time, as Postfix does). */
export async function setNextAttempt(path: string, when: number): Promise<void> {
  const seconds = when / 1000;
  await utimes(path, seconds, seconds);
}
