/*
 * bounce - the bounce daemon (bounce(8)): composes the delivery status
 * notifications qmgr asks for over private/bounce (bounce-clnt.ts), reading
 * the message from its file in active/, and queues each one through
 * cleanup (bounce-notice.ts); one request after another per connection.
 * Logs "ID: sender non-delivery notification: NEWID" and its kin.
 */
import type { Socket } from 'node:net';
import type { NoticeReply, NoticeRequest } from '../global/bounce-clnt.js';
import type { Params } from '../global/params/param-registry.js';
import { readQueueFile } from '../global/queue/queue-file-read.js';
import { queueFilePath } from '../global/queue/queue-paths.js';
import { runDaemon } from '../master/skeleton.js';
import { FramedConnection } from '../util/ipc-frame.js';
import { msg } from '../util/msg.js';
import { sendNotice } from './bounce-notice.js';

/** Sends one notice; the reply says whether it is done. */
async function notice(params: Params, request: NoticeRequest): Promise<NoticeReply> {
  try {
    // The path comes from the queue ID (checked there), never from the request.
    const path = queueFilePath(params.queue_directory, 'active', request.queueId);
    await sendNotice(params, request.kind, request.queueId, path, await readQueueFile(path), request.recipients);
    return { ok: true };
  } catch (err) {
    msg.warn(`${request.queueId}: cannot send the ${request.kind} notice: ${(err as Error).message}`);
    return { ok: false, reason: (err as Error).message };
  }
}

async function serve(socket: Socket, params: Params, retiring: () => boolean): Promise<void> {
  const conn = new FramedConnection(socket);
  while (!retiring()) {
    let request: NoticeRequest;
    try {
      request = await conn.nextJson<NoticeRequest>(params.ipc_timeout * 1000);
    } catch {
      return;
    }
    await conn.sendJson(await notice(params, request));
  }
}

runDaemon({
  name: 'bounce',
  onConnection: (socket, { config, retiring }) => serve(socket, config.params, retiring),
});
