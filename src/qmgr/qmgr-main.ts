/*
 * qmgr - the queue manager (qmgr(8)), a resident daemon: at start it waits
 * until no other qmgr runs on this queue, then moves
 * whatever was left in active/ back to incoming/ (a crash may have
 * interrupted it); on a trigger from cleanup or postsuper and on its wakeup
 * timer it takes new mail from incoming/ and due mail from deferred/ into
 * the active queue (at most qmgr_message_active_limit messages, of which
 * deferred mail may take half, so a backlog never starves new mail;
 * deferred mail is also looked at every queue_run_delay), logs
 * "ID: from=<...>, size=N, nrcpt=N (queue active)" and delivers it
 * (qmgr-message.ts). An unreadable queue file goes to corrupt/ with a
 * warning. A flush trigger delivers all deferred mail now; it and the
 * deferred-scan trigger (postqueue -i, -s) revive dead destinations.
 * Triggers, wakeups and qmgr's own requests are coalesced into scans that
 * never overlap by the trigger skeleton (skeleton-trigger.ts).
 */
import { stat } from 'node:fs/promises';
import { AddressResolver } from '../global/addr/addr-resolve.js';
import type { Config } from '../global/config/load-config.js';
import { PetrelError } from '../global/errors.js';
import { QMGR_TRIGGER, TRIGGER_WAKEUP } from '../global/trigger-clnt.js';
import { readQueueFile } from '../global/queue/queue-file-read.js';
import { listQueue, moveMessage, setNextAttempt } from '../global/queue/queue-move.js';
import { queueFilePath, type MessageQueue } from '../global/queue/queue-paths.js';
import { lockSingleton } from '../master/master-lock.js';
import { runTriggerServer, type TriggerContext } from '../master/skeleton-trigger.js';
import { msg } from '../util/msg.js';
import { readPseudoAgents } from '../global/pseudo-agents.js';
import { DestinationSlots } from './qmgr-limits.js';
import { nextAttemptDelay, runMessage, type QmgrContext } from './qmgr-message.js';
import { openProbeResolver } from './qmgr-probe.js';

let ctx: QmgrContext | undefined;
let triggers: TriggerContext | undefined;
const active = new Set<string>();
/** Active messages taken from deferred/: at most half the active queue, so new mail is never starved by a backlog. */
let fromDeferred = 0;
/** The last scan stopped at qmgr_message_active_limit: the next message to leave the active queue asks for another. */
let full = false;

/** Asks the trigger skeleton for a scan of qmgr's own (its queue_run_delay timer, a freed active slot). */
function requestScan(code: string): void {
  triggers?.request(code).catch((err: unknown) => msg.warn(`scan: ${(err as Error).message}`));
}

async function activate(context: QmgrContext, id: string, from: MessageQueue): Promise<void> {
  const { queue_directory: queueDirectory } = context.config.params;
  let path: string;
  try {
    path = await moveMessage(queueDirectory, id, from, 'active');
  } catch (err) {
    active.delete(id);
    if (from === 'deferred') fromDeferred--;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') msg.warn(`${id}: cannot move to active: ${(err as Error).message}`);
    return;
  }
  let arrival: number | undefined;
  try {
    const info = await readQueueFile(path);
    arrival = info.arrival;
    const pending = info.recipients.filter((r) => r.status === '-').length;
    msg.info(`${id}: from=<${info.sender}>, size=${info.contentSize}, nrcpt=${pending} (queue active)`);
    await runMessage(context, id, path, info, from);
  } catch (err) {
    if (err instanceof PetrelError && err.code === 'queue_corrupt') {
      msg.warn(`${id}: ${err.message}; moved to corrupt`);
      await moveMessage(queueDirectory, id, 'active', 'corrupt').catch((e: unknown) => msg.warn(`${id}: ${(e as Error).message}`));
    } else {
      msg.warn(`${id}: delivery attempt failed: ${(err as Error).message}; will retry`);
      // With its backoff, as any deferred message: without it the next scan of deferred/ would take it again at once.
      const now = Date.now();
      // A file already gone (postsuper -d, or filed before the error) needs neither.
      const unlessGone = (e: unknown): void => {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') msg.warn(`${id}: ${(e as Error).message}`);
      };
      await setNextAttempt(path, now + nextAttemptDelay(context.config, arrival ?? now, now)).catch(unlessGone);
      await moveMessage(queueDirectory, id, 'active', 'deferred').catch(unlessGone);
    }
  } finally {
    active.delete(id);
    if (from === 'deferred') fromDeferred--;
    if (full) {
      full = false;
      requestScan(QMGR_TRIGGER.scanIncoming);
    }
  }
}

/** Takes mail into the active queue; one scan at a time (the trigger skeleton's runs never overlap). */
async function scan(context: QmgrContext, deferredToo: boolean, flush: boolean): Promise<void> {
  const { params } = context.config;
  const limit = params.qmgr_message_active_limit;
  full = false;
  for (const id of await listQueue(params.queue_directory, 'incoming')) {
    if (limit > 0 && active.size >= limit) {
      full = true;
      break;
    }
    if (active.has(id)) continue;
    active.add(id);
    void activate(context, id, 'incoming');
  }
  if (!deferredToo) return;
  context.flushing = flush;
  const now = Date.now();
  const deferredShare = limit > 0 ? Math.max(1, Math.floor(limit / 2)) : Infinity;
  for (const id of await listQueue(params.queue_directory, 'deferred')) {
    if ((limit > 0 && active.size >= limit) || fromDeferred >= deferredShare) break;
    if (active.has(id)) continue;
    const due = flush || (await stat(queueFilePath(params.queue_directory, 'deferred', id)).then((s) => s.mtimeMs <= now, () => false));
    if (due && !active.has(id)) {
      active.add(id);
      fromDeferred++;
      void activate(context, id, 'deferred');
    }
  }
}

async function recover(config: Config): Promise<void> {
  const dir = config.params.queue_directory;
  for (const id of await listQueue(dir, 'active')) {
    await moveMessage(dir, id, 'active', 'incoming').catch((err: unknown) => msg.warn(`${id}: ${(err as Error).message}`));
  }
}

/** Serves the trigger codes that came since the last scan (a wakeup looks at incoming and due deferred mail). */
async function onTrigger(codes: ReadonlySet<string>, context: QmgrContext): Promise<void> {
  const flush = codes.has(QMGR_TRIGGER.flush);
  const revive = flush || codes.has(QMGR_TRIGGER.scanDeferred);
  if (revive) context.slots.reviveAll();
  if (revive || codes.has(TRIGGER_WAKEUP)) await scan(context, true, flush);
  else if (codes.has(QMGR_TRIGGER.scanIncoming)) await scan(context, false, false);
}

runTriggerServer({
  name: 'qmgr',
  async postInit(server) {
    const { config } = server;
    // A qmgr of a master that was killed may still be finishing; its leftovers in active/ are recovered once it is gone.
    await lockSingleton(config.params.queue_directory, 'qmgr');
    const resolver = await AddressResolver.open(config.params);
    ctx = { config, resolver, probeResolver: await openProbeResolver(config.params, resolver), slots: new DestinationSlots(config), agents: readPseudoAgents(config.configDir), flushing: false };
    const unsent = config.params.notify_classes.filter((c) => !['bounce', '2bounce', 'delay', 'policy', 'protocol', 'resource', 'software'].includes(c));
    if (unsent.length > 0) msg.info(`notify_classes: ${unsent.join(', ')}: Petrel sends no postmaster notices of these classes (it sends bounce, 2bounce, delay, policy, protocol, resource and software)`);
    await recover(config);
    triggers = server;
    // Deferred mail is looked at every queue_run_delay too, as on a wakeup.
    setInterval(() => requestScan(TRIGGER_WAKEUP), config.params.queue_run_delay * 1000).unref();
  },
  onTrigger: (codes) => onTrigger(codes, ctx as QmgrContext),
});
