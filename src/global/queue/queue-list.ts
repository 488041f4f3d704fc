/*
 * queue-list - the queue as mailq shows it: every message in incoming,
 * active, deferred and hold (maildrop files are not yet queued), with its
 * size, arrival time, sender, pending recipients and why they wait. Files
 * that cannot be read are skipped (qmgr moves them to corrupt/). Used by
 * postqueue -p and -j.
 */
import { readDeferReasons } from './queue-defer-log.js';
import { readQueueFile } from './queue-file-read.js';
import { listQueue } from './queue-move.js';
import { queueFilePath, type MessageQueue } from './queue-paths.js';

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

/** Every readable message in the listed queues. */
export async function listMessages(queueDirectory: string): Promise<ListedMessage[]> {
  const messages: ListedMessage[] = [];
  for (const queue of LISTED_QUEUES) {
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
      } catch {
        // moved, removed or corrupt since the directory was read: not listed
      }
    }
  }
  return messages;
}
