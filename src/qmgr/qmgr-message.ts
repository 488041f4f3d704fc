/*
 * qmgr-message - one message in qmgr's active queue: resolve each pending
 * recipient, batch them per transport and next hop within the recipient
 * limit, hand each batch to its delivery agent within the destination's
 * concurrency, gather the results, then finish the message: removed when
 * nothing is left, a plain bounce for 5xx results and for mail past
 * maximal_queue_lifetime, otherwise its finished recipients marked done in
 * the queue file and the message deferred with its next attempt time
 * (backoff from minimal_backoff_time to maximal_backoff_time).
 * A FILTER or REDIRECT that cleanup wrote into the queue file (from
 * smtpd's access tables or from content checks)
 * overrides each recipient's transport and next hop, or its address.
 * Transports whose master.cf command is error or discard (and retry) are
 * answered here (global/pseudo-agents.ts); a transport whose agent does not answer
 * defers with "mail transport unavailable". An address verification probe
 * is routed, asked for and finished as qmgr-probe.ts says.
 */
import type { Config } from '../global/config/load-config.js';
import type { AddressResolver, Resolution } from '../global/addr/addr-resolve.js';
import { doubleBounceAddress, requestNotice, type NoticeRecipient } from '../global/bounce-clnt.js';
import { requestDelivery, resultOf, type DeliveryRecipient, type DeliveryResult } from '../global/deliver-clnt.js';
import { logDelivery } from '../global/deliver-log.js';
import { markRecipientsDone, readQueueFile, type QueueFileInfo, type StoredRecipient } from '../global/queue/queue-file-read.js';
import { delayWarningSent, removeDeferReasons, writeDeferReasons } from '../global/queue/queue-defer-log.js';
import { moveMessage, setNextAttempt } from '../global/queue/queue-move.js';
import { recycleQueueFile } from '../global/queue/queue-recycle.js';
import { softBounce } from '../global/soft-bounce.js';
import { msg } from '../util/msg.js';
import { pseudoAgentOutcome, type PseudoAgents } from '../global/pseudo-agents.js';
import { reportProbe, type ProbeOutcome } from './qmgr-probe.js';
import { recipientLimit, type DeliveryFeedback, type DestinationSlots, type Release } from './qmgr-limits.js';
import type { MessageQueue } from '../global/queue/queue-paths.js';

/** What qmgr shares with every active message. */
export interface QmgrContext {
  readonly config: Config;
  readonly resolver: AddressResolver;
  /** The resolver of address verification probes (address_verify_* routing). */
  readonly probeResolver: AddressResolver;
  readonly slots: DestinationSlots;
  /** The transports qmgr answers for itself, by their master.cf command. */
  readonly agents: PseudoAgents;
  /** True during a flush: defer_transports are delivered too. */
  flushing: boolean;
}

interface Batch {
  readonly resolution: Resolution;
  readonly recipients: StoredRecipient[];
  /** The address resolver failed for these recipients (a table it reads did not answer): qmgr defers them itself. */
  readonly unresolved?: true;
}

function recipientsOf(batch: Batch): DeliveryRecipient[] {
  return batch.recipients.map((r, index) => ({ address: r.address, original: r.original, notify: r.notify, orcpt: r.orcpt, index }));
}

/**
 * Every recipient of batch (or those of only) with one result that qmgr
 * gives itself, logged; a bounce is deferred with soft_bounce (qmgr's own,
 * or that of the pseudo-agent's master.cf line), except for a probe.
 */
function answerAll(
  ctx: QmgrContext,
  id: string,
  info: QueueFileInfo,
  batch: Batch,
  activeSince: number,
  status: DeliveryResult['status'],
  dsn: string,
  reason: string,
  only?: ReadonlySet<number>,
  softBounceOn = ctx.config.params.soft_bounce,
): DeliveryResult[] {
  const now = Date.now();
  const outcome = softBounce({ status, dsn, reason }, softBounceOn && info.probe !== true);
  return recipientsOf(batch).filter((r) => only === undefined || only.has(r.index)).map((r) => {
    logDelivery({ queueId: id, recipient: r.address, original: r.original, relay: 'none', arrival: info.arrival, activeSince, requested: now, connected: now, ...outcome, probe: info.probe === true });
    return resultOf(r.index, outcome);
  });
}

/** The results of a batch qmgr answers without a delivery agent, or undefined when an agent must deliver it. */
function answerHere(ctx: QmgrContext, id: string, info: QueueFileInfo, batch: Batch, activeSince: number): DeliveryResult[] | undefined {
  const { transport, nexthop } = batch.resolution;
  const answer = (status: DeliveryResult['status'], dsn: string, reason: string): DeliveryResult[] => answerAll(ctx, id, info, batch, activeSince, status, dsn, reason);
  if (batch.unresolved === true) return answer('deferred', '4.3.0', 'address resolver failure');
  const agent = ctx.agents(transport);
  if (agent !== undefined) {
    const { status, dsn, reason } = pseudoAgentOutcome(agent.kind, nexthop);
    return answerAll(ctx, id, info, batch, activeSince, status, dsn, reason, undefined, agent.softBounce ?? ctx.config.params.soft_bounce);
  }
  if (ctx.config.params.defer_transports.includes(transport) && !ctx.flushing) return answer('deferred', '4.3.2', 'deferred transport');
  const dead = ctx.slots.dead(transport, nexthop);
  if (dead !== undefined) return suspended(ctx, id, info, batch, activeSince, dead);
  return undefined;
}

/** The results of a batch whose destination is dead: deferred without a delivery attempt. */
function suspended(ctx: QmgrContext, id: string, info: QueueFileInfo, batch: Batch, activeSince: number, reason: string): DeliveryResult[] {
  return answerAll(ctx, id, info, batch, activeSince, 'deferred', '4.4.0', `delivery temporarily suspended: ${reason}`);
}

/** Hands batch to its transport's delivery agent in a slot of its destination, which release gives back. */
async function requestBatch(ctx: QmgrContext, id: string, path: string, info: QueueFileInfo, batch: Batch, activeSince: number, release: Release): Promise<readonly DeliveryResult[]> {
  const { params } = ctx.config;
  const { transport, nexthop } = batch.resolution;
  const probe = info.probe === true;
  let feedback: DeliveryFeedback = { ok: true };
  try {
    const reply = await requestDelivery(
      params,
      transport,
      { queueId: id, queueFile: path, sender: info.sender, nexthop, arrival: info.arrival, activeSince, requested: Date.now(), attrs: info.attrs, recipients: recipientsOf(batch), ...(probe ? { probe } : {}) },
      params.daemon_timeout * 1000,
    );
    // The destination itself failed (unreachable, lost connection, no usable name service answer): every recipient deferred with 4.4.x.
    const failed = reply.results.length > 0 && reply.results.every((r) => r.status === 'deferred' && r.dsn.startsWith('4.4.'));
    if (failed) feedback = { ok: false, reason: reply.results[0]?.reason ?? 'destination unavailable' };
    // A recipient the agent gave no result for stays queued: never removed with the message unnoticed.
    const unanswered = new Set(batch.recipients.keys());
    for (const result of reply.results) unanswered.delete(result.index);
    if (unanswered.size === 0) return reply.results;
    msg.warn(`${id}: transport ${transport}: no result for ${unanswered.size} of ${batch.recipients.length} recipients; they stay queued`);
    return [...reply.results, ...answerAll(ctx, id, info, batch, activeSince, 'deferred', '4.3.0', 'mail transport unavailable', unanswered)];
  } catch (err) {
    msg.warn(`${id}: transport ${transport}: ${(err as Error).message}`);
    return answerAll(ctx, id, info, batch, activeSince, 'deferred', '4.3.0', 'mail transport unavailable');
  } finally {
    release(feedback);
  }
}

/**
 * Where address goes: through the message's FILTER (transport:nexthop)
 * when it has one; the resolver gives the rest (the next hop a FILTER
 * without one leaves to the recipient), and is not asked when FILTER names
 * both, as Postfix's qmgr does not, so a table outage does not hold up
 * mail bound for the content filter.
 */
async function routeOf(ctx: QmgrContext, info: QueueFileInfo, address: string): Promise<Resolution> {
  const filter = info.filter;
  const colon = filter?.indexOf(':') ?? -1;
  if (filter !== undefined && colon > 0 && colon < filter.length - 1) return { addressClass: 'default', transport: filter.slice(0, colon), nexthop: filter.slice(colon + 1), recipient: address };
  const resolution = info.probe === true ? await ctx.probeResolver.resolve(address) : await ctx.resolver.resolve(address, info.sender);
  if (filter === undefined) return resolution;
  return { ...resolution, transport: colon < 0 ? filter : filter.slice(0, colon), nexthop: colon < 0 || colon === filter.length - 1 ? resolution.nexthop : filter.slice(colon + 1) };
}

/** The backoff before the next attempt of a message that arrived at arrival. */
export function nextAttemptDelay(config: Config, arrival: number, now: number): number {
  const { minimal_backoff_time: min, maximal_backoff_time: max } = config.params;
  return Math.min(max, Math.max(min, Math.round((now - arrival) / 1000))) * 1000;
}

type Noticed = NoticeRecipient & { readonly stored: StoredRecipient };

function notice(rcpt: StoredRecipient, dsn: string, reason: string, action?: 'relayed'): Noticed {
  return { address: rcpt.address, orcpt: rcpt.orcpt, notify: rcpt.notify, dsn, reason, stored: rcpt, ...(action === undefined ? {} : { action }) };
}

/** The pending recipients of info, resolved, grouped per transport and next hop, and cut to each transport's recipient limit. */
async function batchesOf(ctx: QmgrContext, id: string, info: QueueFileInfo): Promise<Batch[]> {
  const doubleBounce = doubleBounceAddress(ctx.config.params).toLowerCase();
  const groups = new Map<string, Batch>();
  const unresolved: StoredRecipient[] = [];
  for (const stored of info.recipients) {
    if (stored.status !== '-') continue;
    // A REDIRECT delivers to its address in place of each recipient (logged with orig_to=).
    const rcpt = info.redirect === undefined ? stored : { ...stored, address: info.redirect };
    // Once the resolver failed, the message's other recipients wait with that one: a table that hangs costs one timeout an attempt, not one a recipient.
    if (unresolved.length > 0) {
      unresolved.push(rcpt);
      continue;
    }
    // Mail to the double-bounce address (a postmaster notice that itself failed) is discarded, never bounced again.
    let resolution: Resolution;
    try {
      resolution =
        rcpt.address.toLowerCase() === doubleBounce ? { addressClass: 'local', transport: 'discard', nexthop: 'double-bounce', recipient: rcpt.address } : await routeOf(ctx, info, rcpt.address);
    } catch (err) {
      // As Postfix's qmgr: the recipient is deferred (4.3.0) and tried again after its backoff; the table's error is logged here, not told to the sender.
      msg.warn(`${id}: to=<${rcpt.address}>: address resolver failure: ${(err as Error).message}`);
      unresolved.push(rcpt);
      continue;
    }
    const key = `${resolution.transport}\0${resolution.nexthop}`;
    const group = groups.get(key) ?? { resolution, recipients: [] };
    group.recipients.push(rcpt);
    groups.set(key, group);
  }
  const batches: Batch[] = [];
  for (const group of groups.values()) {
    const limit = recipientLimit(ctx.config, group.resolution.transport) || group.recipients.length;
    for (let i = 0; i < group.recipients.length; i += limit) batches.push({ resolution: group.resolution, recipients: group.recipients.slice(i, i + limit) });
  }
  if (unresolved.length > 0) batches.push({ resolution: { addressClass: 'default', transport: '', nexthop: '', recipient: '' }, recipients: unresolved, unresolved: true });
  return batches;
}

/**
 * One active message's deliveries. Each batch waits for its slot as an
 * entry in its destination's queue (DestinationSlots.request), not as a
 * suspended function, for the active queue may hold thousands of messages
 * waiting. Results are gathered here; when the last batch is in, the
 * message is filed (finishMessage), or, when a batch ended in an error,
 * the run fails with the first one (activate defers the message) only
 * once no delivery of it is running.
 */
class MessageRun {
  readonly bounced: Noticed[] = [];
  readonly delivered: NoticeRecipient[] = [];
  readonly waiting: NoticeRecipient[] = [];
  readonly sent: StoredRecipient[] = [];
  readonly probed: ProbeOutcome[] = [];
  deferred = 0;
  lastDefer = { dsn: '4.0.0', reason: '' };
  private unfinished: number;
  /** The first error a batch ended in. */
  private error: { readonly err: unknown } | undefined;

  constructor(
    readonly ctx: QmgrContext,
    readonly id: string,
    readonly path: string,
    readonly info: QueueFileInfo,
    readonly from: MessageQueue,
    readonly activeSince: number,
    private readonly batches: readonly Batch[],
    private readonly done: () => void,
    private readonly failed: (err: unknown) => void,
  ) {
    this.unfinished = batches.length;
  }

  start(): void {
    if (this.batches.length === 0) this.finish();
    for (const batch of this.batches) this.deliver(batch);
  }

  /** Answers batch here, or asks for a slot of its destination and hands it to the delivery agent there. */
  private deliver(batch: Batch): void {
    try {
      const answered = answerHere(this.ctx, this.id, this.info, batch, this.activeSince);
      if (answered !== undefined) {
        this.record(batch, answered);
        return;
      }
      const { transport, nexthop } = batch.resolution;
      this.ctx.slots.request(
        transport,
        nexthop,
        this.id,
        (release) => {
          requestBatch(this.ctx, this.id, this.path, this.info, batch, this.activeSince, release).then(
            (results) => this.record(batch, results),
            (err: unknown) => this.fail(err),
          );
        },
        (reason) => {
          try {
            this.record(batch, suspended(this.ctx, this.id, this.info, batch, this.activeSince, reason));
          } catch (err) {
            this.fail(err);
          }
        },
      );
    } catch (err) {
      this.fail(err);
    }
  }

  private record(batch: Batch, results: readonly DeliveryResult[]): void {
    try {
      for (const result of results) {
        const rcpt = batch.recipients[result.index];
        if (rcpt === undefined) continue;
        if (this.info.probe === true) {
          this.probed.push({ rcpt, result });
        } else if (result.status === 'deferred') {
          this.deferred++;
          this.lastDefer = { dsn: result.dsn, reason: result.reason };
          this.waiting.push(notice(rcpt, result.dsn, result.reason));
        } else if (result.status === 'bounced') {
          this.bounced.push(notice(rcpt, result.dsn, result.reason));
        } else {
          this.sent.push(rcpt);
          if (result.notifyPassed !== true) this.delivered.push(notice(rcpt, result.dsn, result.reason, result.action));
        }
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    this.batchEnded();
  }

  /** A batch ended in an error: the run fails with the first one, once every batch has ended. */
  private fail(err: unknown): void {
    this.error ??= { err };
    this.batchEnded();
  }

  /** Files the message, or fails the run, when no batch is left: until then a delivery of it may still be running. */
  private batchEnded(): void {
    this.unfinished--;
    if (this.unfinished > 0) return;
    if (this.error !== undefined) this.failed(this.error.err);
    else this.finish();
  }

  private finish(): void {
    finishMessage(this).then(this.done, this.failed);
  }
}

/**
 * Delivers what is pending in the active message id (taken from queue
 * from) and files it afterwards. Recipients are marked done in the file
 * only when the message stays queued; a finished message is just removed.
 */
export async function runMessage(ctx: QmgrContext, id: string, path: string, info: QueueFileInfo, from: MessageQueue): Promise<void> {
  const activeSince = Date.now();
  const batches = await batchesOf(ctx, id, info);
  return new Promise((resolve, reject) => new MessageRun(ctx, id, path, info, from, activeSince, batches, resolve, reject).start());
}

/** Files a message whose batches are all in: notices sent, then removed, or deferred with its next attempt time. */
async function finishMessage(run: MessageRun): Promise<void> {
  const { ctx, id, path, info, from, activeSince, bounced, delivered, waiting, sent, probed, lastDefer } = run;
  const { params } = ctx.config;
  let deferred = run.deferred;
  if (info.probe === true) await reportProbe(params, id, probed);
  const now = Date.now();
  if (deferred > 0 && now - info.arrival > (info.sender === '' ? params.bounce_queue_lifetime : params.maximal_queue_lifetime) * 1000) {
    const after = await readQueueFile(path);
    // Recipients this run delivered or bounced are not marked done in the file yet: they do not expire.
    const already = new Set([...bounced.map((b) => b.stored.statusOffset), ...sent.map((s) => s.statusOffset)]);
    for (const rcpt of after.recipients.filter((r) => r.status === '-' && !already.has(r.statusOffset))) {
      // With soft_bounce even expired mail stays queued.
      const expiry = softBounce({ status: 'bounced' as const, dsn: `5${lastDefer.dsn.slice(1)}`, reason: `message delivery time exceeded: ${lastDefer.reason}` }, params.soft_bounce);
      logDelivery({ queueId: id, recipient: rcpt.address, original: rcpt.original, relay: 'none', arrival: info.arrival, activeSince, requested: now, connected: now, ...expiry });
      if (expiry.status === 'bounced') bounced.push(notice(rcpt, expiry.dsn, `delivery time exceeded: ${lastDefer.reason}`));
    }
    if (!params.soft_bounce) deferred = 0;
  }
  if (delivered.length > 0) {
    await requestNotice(params, { kind: 'delivered', queueId: id, recipients: delivered }, info.sender).catch((err: unknown) => msg.warn(`${id}: cannot send the delivery status notice: ${(err as Error).message}`));
  }
  if (bounced.length > 0) {
    try {
      await requestNotice(params, { kind: 'failed', queueId: id, recipients: bounced.map(({ stored: _stored, ...recipient }) => recipient) }, info.sender);
      sent.push(...bounced.map((b) => b.stored));
    } catch (err) {
      // The bounced recipients stay pending, so the next attempt bounces them (and notifies) again.
      msg.warn(`${id}: cannot send the non-delivery notice: ${(err as Error).message}; keeping the message`);
      deferred++;
    }
  }
  if (deferred > 0) {
    await markRecipientsDone(path, sent);
    let warned = from !== 'incoming' && (await delayWarningSent(params.queue_directory, id));
    if (!warned && params.delay_warning_time > 0 && now - info.arrival >= params.delay_warning_time * 1000 && waiting.length > 0) {
      try {
        await requestNotice(params, { kind: 'delayed', queueId: id, recipients: waiting }, info.sender);
        warned = true;
      } catch (err) {
        msg.warn(`${id}: cannot send the delay notice: ${(err as Error).message}`);
      }
    }
    await writeDeferReasons(params.queue_directory, id, new Map(waiting.map((w) => [w.address, w.reason])), warned);
    // The next attempt time first: a scan of deferred/ must never find the file there with its old time and take it again at once.
    await setNextAttempt(path, now + nextAttemptDelay(ctx.config, info.arrival, now));
    await moveMessage(params.queue_directory, id, 'active', 'deferred');
    return;
  }
  recycleQueueFile(params.queue_directory, path, info.contentOffset + info.contentSize);
  // Only a message that was deferred before can have a defer log.
  if (from !== 'incoming') await removeDeferReasons(params.queue_directory, id);
  msg.info(`${id}: removed`);
}
