/*
 * local - the local delivery agent (local(8)): takes delivery requests from
 * qmgr on private/local, delivers each recipient (local-deliver.ts), logs
 * Postfix's "to=<...>, relay=local, ..., status=..." line for each and
 * answers qmgr with the results.
 */
import type { Socket } from 'node:net';
import { acceptDelivery, type DeliveryReply, type DeliveryResult } from '../global/deliver-clnt.js';
import { logDelivery } from '../global/deliver-log.js';
import { PetrelError } from '../global/errors.js';
import { readQueueFile } from '../global/queue/queue-file-read.js';
import { openTableList } from '../global/tables/table-list.js';
import { openTable } from '../global/tables/table-registry.js';
import { runDaemon } from '../master/skeleton.js';
import { FramedConnection } from '../util/ipc-frame.js';
import { deliveredTo } from './local-content.js';
import { deliverRecipient, runsAsMailOwner, type LocalContext } from './local-deliver.js';

let ctx: LocalContext | undefined;

async function serve(socket: Socket, context: LocalContext): Promise<void> {
  const conn = new FramedConnection(socket);
  const request = await acceptDelivery(conn, context.params.ipc_timeout * 1000);
  let results: DeliveryResult[];
  try {
    const info = await readQueueFile(request.queueFile);
    const message = { request, info, deliveredTo: await deliveredTo(request.queueFile, info) };
    results = [];
    for (const rcpt of request.recipients) {
      const outcome = await deliverRecipient(context, message, rcpt);
      logDelivery({ queueId: request.queueId, recipient: rcpt.address, original: rcpt.original, relay: 'local', arrival: request.arrival, activeSince: request.activeSince, requested: request.requested, connected: request.requested, ...outcome });
      results.push({ index: rcpt.index, ...outcome });
    }
  } catch (err) {
    const reason = `cannot read queue file: ${(err as Error).message}`;
    results = request.recipients.map((rcpt) => ({ index: rcpt.index, status: 'deferred', dsn: '4.3.0', reason }));
  }
  await conn.sendJson({ results } satisfies DeliveryReply);
  conn.close();
}

runDaemon({
  name: 'local',
  async postInit({ config }) {
    const { params } = config;
    const unsupported = params.mailbox_delivery_lock.filter((method) => method !== 'dotlock');
    if (unsupported.length > 0) {
      throw new PetrelError('config', `mailbox_delivery_lock: ${unsupported.join(', ')} not available (Petrel locks mailboxes with dotlock only)`);
    }
    ctx = {
      params,
      aliases: await openTableList(params.alias_maps, { configDir: params.config_directory }),
      passwd: await openTable('unix:passwd.byname', { configDir: params.config_directory }),
      unprivileged: runsAsMailOwner(params),
    };
  },
  onConnection: (socket) => serve(socket, ctx as LocalContext),
});
