/*
 * virtual - the virtual delivery agent (virtual(8)): takes delivery
 * requests from qmgr on private/virtual (virtual_transport), delivers each
 * recipient into its virtual mailbox (virtual-deliver.ts), logs Postfix's
 * "to=<...>, relay=virtual, ..., status=..." line for each and answers qmgr
 * with the results. Run as root (master.cf's unpriv column "n"), it looks
 * the tables up as root and names each mailbox's files with the effective
 * uid and gid the tables give (one request at a time only when the switch
 * holds for the whole process: global/privileges.ts); a development
 * instance, not run as root, writes every mailbox as itself.
 */
import type { Socket } from 'node:net';
import { serveDeliveries, type DeliveryRequest, type DeliveryResult } from '../global/deliver-clnt.js';
import { deliverRecipients } from '../global/deliver-recipients.js';
import { PetrelError } from '../global/errors.js';
import { AS_PROCESS, EffectiveUser, oneAtATime } from '../global/privileges.js';
import { openTableList } from '../global/tables/table-list.js';
import { tableContext } from '../global/tables/table.js';
import { runDaemon } from '../master/skeleton.js';
import { msg } from '../util/msg.js';
import { FramedConnection } from '../util/ipc-frame.js';
import { deliverRecipient, type AsOwner, type VirtualContext } from './virtual-deliver.js';

let ctx: VirtualContext | undefined;
/** Set when this process switches effective ids for the whole process: then requests are served one at a time. */
let serially: (<T>(fn: () => Promise<T>) => Promise<T>) | undefined;

/** The master.cf service this process serves, logged as relay= (as pipe does). */
let service = 'virtual';

function deliver(context: VirtualContext, request: DeliveryRequest): Promise<DeliveryResult[]> {
  return deliverRecipients(request, service, context.params.soft_bounce, (message, rcpt) => deliverRecipient(context, message, rcpt));
}

async function serve(socket: Socket, context: VirtualContext, retiring: () => boolean): Promise<void> {
  await serveDeliveries(new FramedConnection(socket), context.params.ipc_timeout * 1000, retiring, async (request) => {
    const results = await (serially === undefined ? deliver(context, request) : serially(() => deliver(context, request)));
    return { results };
  });
}

/** Writes as the owner when this process runs as root, else as itself. */
function ownerRights(): AsOwner {
  if (!EffectiveUser.available()) return () => AS_PROCESS;
  if (EffectiveUser.wholeProcess()) {
    serially = oneAtATime();
    msg.warn(`user ids are switched for the whole process, one delivery at a time: ${EffectiveUser.wholeProcessReason() ?? 'no reason given'}`);
  }
  const effective = new EffectiveUser();
  return (owner) => effective.runnerFor(owner);
}

runDaemon({
  name: 'virtual',
  async postInit({ config, service: name }) {
    const { params } = config;
    service = name;
    const unsupported = params.virtual_mailbox_lock.filter((method) => method !== 'dotlock');
    if (unsupported.length > 0) {
      throw new PetrelError('config', `virtual_mailbox_lock: ${unsupported.join(', ')} not available (Petrel locks mailboxes with dotlock only)`);
    }
    const open = (specs: readonly string[]) => openTableList(specs, tableContext(params));
    ctx = {
      params,
      tables: {
        mailboxes: await open(params.virtual_mailbox_maps),
        uids: await open(params.virtual_uid_maps),
        gids: await open(params.virtual_gid_maps),
        limits: await open(params.virtual_mailbox_limit_maps),
      },
      asOwner: ownerRights(),
    };
  },
  onConnection: (socket, { retiring }) => serve(socket, ctx as VirtualContext, retiring),
});
