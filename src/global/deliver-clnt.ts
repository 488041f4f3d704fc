/*
 * deliver-clnt - how qmgr asks a delivery agent (local now; smtp, lmtp, pipe
 * later) to deliver one queue file to some of its recipients, over
 * private/<transport>: the agent says hello (so a request no agent picks up
 * fails in a minute instead of hanging), then one JSON request and one JSON
 * reply with a result per recipient. The agent reads the content from the queue file itself, logs
 * each recipient's "to=<...>, relay=..., status=..." line and answers; qmgr
 * records the results in the queue file. Shared by qmgr and the agents.
 */
import { join } from 'node:path';
import { FramedConnection } from '../util/ipc-frame.js';

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
}

/** A recipient's outcome. */
export interface DeliveryResult {
  readonly index: number;
  readonly status: 'sent' | 'deferred' | 'bounced';
  readonly dsn: string;
  readonly reason: string;
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

/** The agent side: says hello and reads the request. */
export async function acceptDelivery(conn: FramedConnection, timeoutMs: number): Promise<DeliveryRequest> {
  await conn.sendJson({ ready: true } satisfies DeliveryHello);
  return conn.nextJson<DeliveryRequest>(timeoutMs);
}

/** Sends a request to transport and waits for its reply (timeoutMs covers the whole delivery). */
export async function requestDelivery(queueDirectory: string, transport: string, request: DeliveryRequest, timeoutMs: number): Promise<DeliveryReply> {
  const conn = await FramedConnection.connect(join(queueDirectory, transportSocket(transport)), Math.min(timeoutMs, 10_000));
  try {
    await conn.nextJson<DeliveryHello>(Math.min(timeoutMs, HELLO_TIMEOUT_MS));
    await conn.sendJson(request);
    return await conn.nextJson<DeliveryReply>(timeoutMs);
  } finally {
    conn.close();
  }
}
