/*
 * deliver-log - the per-recipient delivery log line every agent and qmgr
 * write, in Postfix's words so pflogsumm reads it: "ID: to=<rcpt>,
 * orig_to=<orig>, relay=R, [conn_use=N,] delay=T, delays=a/b/c/d, dsn=X.Y.Z,
 * status=sent|deferred|bounced (reason)". delays: a before the active
 * queue, b in qmgr, c connection set-up, d transmission. For an address
 * verification probe the status is "deliverable" or "undeliverable", as
 * Postfix logs its probes; a bounce that soft_bounce kept queued says
 * status=SOFTBOUNCE (soft-bounce.ts).
 */
import { msg } from '../util/msg.js';
import type { DeliveryRecipient, DeliveryRequest } from './deliver-clnt.js';

/** A delay in seconds as Postfix prints it: hundredths below 1 s, tenths below 10 s, whole seconds above; 0 below 10 ms. */
export function formatDelay(seconds: number): string {
  if (seconds < 0.01) return '0';
  if (seconds < 1) return String(Number(seconds.toFixed(2)));
  if (seconds < 10) return String(Number(seconds.toFixed(1)));
  return String(Math.round(seconds));
}

/** What one delivery log line says. */
export interface DeliveryLogEntry {
  readonly queueId: string;
  readonly recipient: string;
  readonly original: string;
  readonly relay: string;
  /** The how-manieth transaction on a reused connection (logged as conn_use= when above 1). */
  readonly connUse?: number;
  readonly arrival: number;
  readonly activeSince: number;
  readonly requested: number;
  /** When the connection to the next hop was ready (agents without one pass requested). */
  readonly connected: number;
  readonly dsn: string;
  readonly status: 'sent' | 'deferred' | 'bounced';
  readonly reason: string;
  /** An address verification probe. */
  readonly probe?: boolean;
  /** A bounce soft_bounce made a deferral. */
  readonly softBounced?: boolean;
}

/** Logs the line for one recipient. */
export function logDelivery(entry: DeliveryLogEntry, now: number = Date.now()): void {
  const s = (ms: number): string => formatDelay(Math.max(0, ms) / 1000);
  const orig = entry.original !== '' && entry.original !== entry.recipient ? `, orig_to=<${entry.original}>` : '';
  const status = entry.probe === true ? (entry.status === 'sent' ? 'deliverable' : 'undeliverable') : entry.softBounced === true ? 'SOFTBOUNCE' : entry.status;
  const delays = [entry.activeSince - entry.arrival, entry.requested - entry.activeSince, entry.connected - entry.requested, now - entry.connected].map(s).join('/');
  msg.info(
    `${entry.queueId}: to=<${entry.recipient}>${orig}, relay=${entry.relay}${entry.connUse !== undefined && entry.connUse > 1 ? `, conn_use=${entry.connUse}` : ''}, delay=${s(now - entry.arrival)}, delays=${delays}, dsn=${entry.dsn}, status=${status} (${entry.reason})`,
  );
}

/**
 * Logs one recipient of a delivery request, as a delivery agent does: the
 * queue ID and times come from the request; without a connection of its
 * own (local, pipe) the agent was connected when it was asked.
 */
export function logAgentDelivery(
  request: DeliveryRequest,
  rcpt: Pick<DeliveryRecipient, 'address' | 'original'>,
  entry: Pick<DeliveryLogEntry, 'relay' | 'status' | 'dsn' | 'reason' | 'connUse' | 'softBounced'> & { readonly connected?: number },
): void {
  logDelivery({
    queueId: request.queueId,
    recipient: rcpt.address,
    original: rcpt.original,
    arrival: request.arrival,
    activeSince: request.activeSince,
    requested: request.requested,
    ...entry,
    connected: entry.connected ?? request.requested,
    probe: request.probe === true,
  });
}
