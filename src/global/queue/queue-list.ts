/*
 * queue-list - the queue as mailq shows it: every message in incoming,
 * active, deferred and hold (maildrop files are not yet queued), with its
 * size, arrival time, sender, pending recipients and why they wait. Files
 * that vanish or are corrupt are skipped (qmgr moves them to corrupt/); a
 * queue the caller may not read is an error, never an empty queue. Used by
 * postqueue -p and -j.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { PetrelError } from '../errors.js';
import { readDeferReasons } from './queue-defer-log.js';
import { readQueueFile } from './queue-file-read.js';
import { listQueue } from './queue-move.js';
import { queueFilePath, queuePath, type MessageQueue } from './queue-paths.js';

/** One listed message. */
export interface ListedMessage {
  readonly queue: MessageQueue;
  readonly id: string;
  readonly size: number;
  readonly arrival: number;
  readonly sender: string;
  readonly recipients: readonly { readonly address: string; readonly reason?: string }[];
}

/** The queues listed, in the order mailq shows them. */
export const LISTED_QUEUES: readonly MessageQueue[] = ['active', 'incoming', 'deferred', 'hold'];

/** True for an error that says the caller lacks the rights, not that the file went away. */
function denied(err: unknown): boolean {
  const code = ((err as { cause?: NodeJS.ErrnoException }).cause ?? (err as NodeJS.ErrnoException)).code;
  return code === 'EACCES' || code === 'EPERM';
}

function unreadable(err: unknown): PetrelError {
  return new PetrelError('io', 'cannot read the mail queue: permission denied', { cause: err });
}

/** Every message in the listed queues; throws when the caller may not read them. */
export async function listMessages(queueDirectory: string): Promise<ListedMessage[]> {
  const messages: ListedMessage[] = [];
  for (const queue of LISTED_QUEUES) {
    try {
      await access(queuePath(queueDirectory, queue), constants.R_OK | constants.X_OK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unreadable(err);
    }
    for (const id of await listQueue(queueDirectory, queue)) {
      try {
        const info = await readQueueFile(queueFilePath(queueDirectory, queue, id));
        const reasons = await readDeferReasons(queueDirectory, id);
        messages.push({
          queue,
          id,
          size: info.contentSize,
          arrival: info.arrival,
          sender: info.sender,
          recipients: info.recipients.filter((r) => r.status === '-').map((r) => ({ address: r.address, reason: reasons.get(r.address) })),
        });
      } catch (err) {
        if (denied(err)) throw unreadable(err);
        // moved, removed or corrupt since the directory was read: not listed
      }
    }
  }
  return messages;
}
