/*
 * deliver-clnt - how qmgr asks a delivery agent (local now; smtp, lmtp, pipe
 * later) to deliver one queue file to some of its recipients, over
 * private/<transport>: the agent says hello (so a request no agent picks up
 * fails in a minute instead of hanging), then one JSON request and one JSON
 * reply with a result per recipient. After the reply the agent says hello
 * again when it can take another request on the same connection, and qmgr
 * keeps such a connection for the next delivery (ipc-pool.ts). The agent reads the content from the queue file itself, logs
 * each recipient's "to=<...>, relay=..., status=..." line and answers; qmgr
 * records the results in the queue file. Shared by qmgr and the agents.
 */
import { join } from 'node:path';
import type { FramedConnection } from '../util/ipc-frame.js';
import { keepConnection, openPooled } from '../util/ipc-pool.js';
import type { Params } from './params/param-registry.js';

/** One recipient in a delivery request. */
export interface DeliveryRecipient {
  readonly address: string;
  readonly original: string;
  readonly notify: string;
  readonly orcpt: string;
  /** Its position in the request's queue file, echoed in results. */
  readonly index: number;
}

/** qmgr → agent. */
export interface DeliveryRequest {
  readonly queueId: string;
  readonly queueFile: string;
  readonly sender: string;
  readonly nexthop: string;
  readonly arrival: number;
  /** When qmgr took the message into the active queue and when it sent this request (ms), for delays=a/b/c/d. */
  readonly activeSince: number;
  readonly requested: number;
  readonly attrs: Readonly<Record<string, string>>;
  readonly recipients: readonly DeliveryRecipient[];
  /** An address verification probe: find out whether each recipient is deliverable, deliver nothing. */
  readonly probe?: true;
}

/** A recipient's outcome. */
export interface DeliveryResult {
  readonly index: number;
  readonly status: 'sent' | 'deferred' | 'bounced';
  readonly dsn: string;
  readonly reason: string;
  /** For a sent recipient: "relayed" when the agent handed it on rather than delivering it finally (pipe without flag X, SMTP). */
  readonly action?: 'relayed';
  /** For a sent recipient: the next hop took its NOTIFY over (it announced DSN), so no success report is due from here. */
  readonly notifyPassed?: boolean;
}

/** The result of recipient index from an outcome that may carry more (a soft_bounce mark): only what qmgr reads. */
export function resultOf(index: number, outcome: Omit<DeliveryResult, 'index'>): DeliveryResult {
  const { status, dsn, reason, action, notifyPassed } = outcome;
  return { index, status, dsn, reason, ...(action === undefined ? {} : { action }), ...(notifyPassed === undefined ? {} : { notifyPassed }) };
}

/** agent → qmgr, first thing on a new connection: the agent is ready for the request. */
export interface DeliveryHello {
  readonly ready: true;
}

/** How long qmgr waits for an agent's hello before it gives up on this attempt. */
const HELLO_TIMEOUT_MS = 30_000;

/** agent → qmgr. */
export interface DeliveryReply {
  readonly results: readonly DeliveryResult[];
}

/** The socket of a transport, relative to the queue directory. */
export function transportSocket(transport: string): string {
  return join('private', transport);
}

/**
 * The agent's side: serves requests on conn one after another, saying hello
 * before each, until the client closes, a request does not come within
 * timeoutMs, or the agent is retiring.
 */
export async function serveDeliveries(
  conn: FramedConnection,
  timeoutMs: number,
  retiring: () => boolean,
  deliver: (request: DeliveryRequest) => Promise<DeliveryReply>,
): Promise<void> {
  if (retiring()) return;
  await conn.sendJson({ ready: true } satisfies DeliveryHello);
  for (;;) {
    let frame;
    try {
      frame = await conn.next(timeoutMs);
    } catch {
      return;
    }
    if (frame === undefined) return;
    const request = JSON.parse(frame.payload.toString('utf8')) as DeliveryRequest;
    const reply = await deliver(request);
    const more = !retiring();
    // The reply and the next hello leave in one write.
    conn.hold();
    await conn.sendJson(reply);
    if (more) await conn.sendJson({ ready: true } satisfies DeliveryHello);
    conn.release();
    if (!more) return;
  }
}

/** Waits for the agent's next hello, then keeps the connection for another request. */
async function keepAfterHello(path: string, conn: FramedConnection, params: DeliveryClientParams): Promise<void> {
  try {
    await conn.nextJson<DeliveryHello>(Math.min(params.ipc_timeout * 1000, HELLO_TIMEOUT_MS));
    keepConnection(path, conn, params.ipc_idle);
  } catch {
    conn.close();
  }
}

/** What a client needs of the configuration. */
export type DeliveryClientParams = Pick<Params, 'queue_directory' | 'ipc_timeout' | 'ipc_idle'>;

/** Asks the agent of transport to deliver; resolves with its reply, rejects when the agent is unavailable. */
export async function requestDelivery(params: DeliveryClientParams, transport: string, request: DeliveryRequest, timeoutMs: number): Promise<DeliveryReply> {
  const path = join(params.queue_directory, transportSocket(transport));
  // A kept connection had its hello already; a new one waits for it.
  const { conn } = await openPooled(path, Math.min(timeoutMs, 10_000), async (c, fresh) => {
    if (fresh) await c.nextJson<DeliveryHello>(Math.min(timeoutMs, HELLO_TIMEOUT_MS));
    await c.sendJson(request);
  });
  let reply: DeliveryReply;
  try {
    reply = await conn.nextJson<DeliveryReply>(timeoutMs);
  } catch (err) {
    conn.close();
    throw err;
  }
  void keepAfterHello(path, conn, params);
  return reply;
}
