/*
 * local - the local delivery agent (local(8)): takes delivery requests from
 * qmgr on private/local, delivers each recipient (local-deliver.ts), logs
 * Postfix's "to=<...>, relay=local, ..., status=..." line for each and
 * answers qmgr with the results.
 */
import type { Socket } from 'node:net';
import { serveDeliveries, type DeliveryRequest, type DeliveryResult } from '../global/deliver-clnt.js';
import { deliverRecipients } from '../global/deliver-recipients.js';
import { PetrelError } from '../global/errors.js';
import { EffectiveUser, oneAtATime } from '../global/privileges.js';
import { openTableList } from '../global/tables/table-list.js';
import { tableContext } from '../global/tables/table.js';
import { openTable } from '../global/tables/table-registry.js';
import { readPseudoAgents } from '../global/pseudo-agents.js';
import { runDaemon } from '../master/skeleton.js';
import { msg } from '../util/msg.js';
import { FramedConnection } from '../util/ipc-frame.js';
import { deliverRecipient, runsAsMailOwner, type LocalContext } from './local-deliver.js';
import { ownRights, rootRights, SINGLE_USER } from './local-rights.js';

let ctx: LocalContext | undefined;

async function serve(socket: Socket, context: LocalContext, retiring: () => boolean): Promise<void> {
  await serveDeliveries(new FramedConnection(socket), context.params.ipc_timeout * 1000, retiring, async (request) => {
    const results = await (context.rights.exclusive ? serially(() => deliver(context, request)) : deliver(context, request));
    return { results };
  });
}

function deliver(context: LocalContext, request: DeliveryRequest): Promise<DeliveryResult[]> {
  return deliverRecipients(request, 'local', context.params.soft_bounce, (message, rcpt) => deliverRecipient(context, message, rcpt));
}

/** Runs deliveries one after another (a process that switches effective ids). */
const serially = oneAtATime();

runDaemon({
  name: 'local',
  async postInit({ config, service }) {
    const { params } = config;
    const unsupported = params.mailbox_delivery_lock.filter((method) => method !== 'dotlock');
    if (unsupported.length > 0) {
      throw new PetrelError('config', `mailbox_delivery_lock: ${unsupported.join(', ')} not available (Petrel locks mailboxes with dotlock only)`);
    }
    for (const name of ['mailbox_transport', 'fallback_transport'] as const) {
      if (params[name].split(':')[0] === service) throw new PetrelError('config', `${name}: "${params[name]}" hands mailbox delivery back to this local service (${service}): mail would loop`);
    }
    const unprivileged = runsAsMailOwner(params);
    const forUnknownUsers = (['fallback_transport', 'fallback_transport_maps', 'luser_relay'] as const).filter((name) => String(params[name]) !== '');
    if (unprivileged && forUnknownUsers.length > 0) {
      msg.warn(`${forUnknownUsers.join(', ')}: not used: this instance runs as its mail_owner, where every local name is a user (start it as root for a passwd lookup)`);
    }
    ctx = {
      params,
      aliases: await openTableList(params.alias_maps, tableContext(params)),
      passwd: await openTable('unix:passwd.byname', tableContext(params)),
      mailboxTransports: await openTableList(params.mailbox_transport_maps, tableContext(params)),
      fallbackTransports: await openTableList(params.fallback_transport_maps, tableContext(params)),
      agents: readPseudoAgents(config.configDir),
      service,
      unprivileged,
      value: config.value,
      rights: unprivileged ? SINGLE_USER : EffectiveUser.available() ? rootRights() : ownRights(process.getuid?.() ?? -1),
    };
    if (ctx.rights.exclusive) msg.warn(`user ids are switched for the whole process, one delivery at a time: ${EffectiveUser.wholeProcessReason() ?? 'no reason given'}`);
  },
  // A whole-process switch of effective ids (no thread-ids addon) serialises a process's deliveries: then one qmgr
  // connection a process, and the master runs up to the CPU count of processes, so deliveries still run side by side.
  connectionLimit: () => ((ctx as LocalContext).rights.exclusive ? 1 : undefined),
  onConnection: (socket, { retiring }) => serve(socket, ctx as LocalContext, retiring),
});
