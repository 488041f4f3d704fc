/*
 * deliver-queue-file - how a delivery agent (local, pipe, smtp/lmtp) gets at
 * the message of a delivery request: it opens the queue file qmgr named,
 * reads its envelope records, hands both to the agent's work and closes the
 * file afterwards. A queue file that cannot be opened or read is a local
 * problem, so every recipient is deferred with 4.3.0 "cannot read queue
 * file: ..." and tried again later, as Postfix's agents do when
 * deliver_request_read() fails. Shared by the three agents.
 */
import { closeSync } from 'node:fs';
import { openQueueFile, readQueueRecords, type QueueFileInfo } from './queue/queue-file-read.js';

/** The status of a delivery whose queue file could not be opened or read. */
export const QUEUE_FILE_DSN = '4.3.0';

/** The reason given for a queue file that could not be opened or read. */
export function queueFileReason(err: unknown): string {
  return `cannot read queue file: ${(err as Error).message}`;
}

/**
 * Runs use with the open queue file at queueFile and its envelope, closing
 * the file afterwards; when the file cannot be opened or its envelope read,
 * returns defer(QUEUE_FILE_DSN, reason) instead. Errors thrown by use are
 * the agent's own and pass through.
 */
export async function withQueueFile<T>(
  queueFile: string,
  use: (file: number, info: QueueFileInfo) => Promise<T>,
  defer: (dsn: string, reason: string) => T,
): Promise<T> {
  let file: number;
  try {
    file = await openQueueFile(queueFile);
  } catch (err) {
    return defer(QUEUE_FILE_DSN, queueFileReason(err));
  }
  try {
    let info: QueueFileInfo;
    try {
      info = await readQueueRecords(file, queueFile);
    } catch (err) {
      return defer(QUEUE_FILE_DSN, queueFileReason(err));
    }
    return await use(file, info);
  } finally {
    closeSync(file);
  }
}
