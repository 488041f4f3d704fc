/*
 * deliver-recipients - the loop of a final delivery agent (local, virtual)
 * over one delivery request: open the queue file (deliver-queue-file.ts),
 * read the Delivered-To: headers already in the message, deliver each
 * recipient in turn, log each one's "to=<...>, relay=..." line and collect
 * the results for qmgr. A fault past the opening (reading the headers, an
 * unexpected error) defers every recipient of the request.
 */
import { resultOf, type DeliveryRecipient, type DeliveryRequest, type DeliveryResult } from './deliver-clnt.js';
import { logAgentDelivery } from './deliver-log.js';
import { QUEUE_FILE_DSN, queueFileReason, withQueueFile } from './deliver-queue-file.js';
import { deliveredTo } from './delivery-headers.js';
import type { Outcome } from './mailbox-outcome.js';
import { softBounce } from './soft-bounce.js';
import type { QueueFileInfo } from './queue/queue-file-read.js';

/** One queue file being delivered. */
export interface OpenMessage {
  readonly request: DeliveryRequest;
  /** The queue file, opened before any change of rights. */
  readonly file: number;
  readonly info: QueueFileInfo;
  /** The Delivered-To: addresses already in the message, lower-cased, for loop detection. */
  readonly deliveredTo: ReadonlySet<string>;
}

/** Delivers every recipient of request with deliverOne, logging each as relay; the results for qmgr (bounces deferred with soft_bounce, probes excepted). */
export async function deliverRecipients(
  request: DeliveryRequest,
  relay: string,
  softBounceOn: boolean,
  deliverOne: (message: OpenMessage, rcpt: DeliveryRecipient) => Promise<Outcome>,
): Promise<DeliveryResult[]> {
  const deferAll = (dsn: string, reason: string): DeliveryResult[] => request.recipients.map((rcpt) => ({ index: rcpt.index, status: 'deferred', dsn, reason }));
  return withQueueFile(
    request.queueFile,
    async (file, info) => {
      try {
        const message = { request, file, info, deliveredTo: await deliveredTo(file, info) };
        const results: DeliveryResult[] = [];
        for (const rcpt of request.recipients) {
          const delivered = await deliverOne(message, rcpt);
          // Handed to another agent (mailbox_transport), which logged it and applied its own soft_bounce.
          if (delivered.loggedByAgent === true) {
            results.push(resultOf(rcpt.index, delivered));
            continue;
          }
          const outcome = softBounce(delivered, softBounceOn && request.probe !== true);
          logAgentDelivery(request, rcpt, { relay, ...outcome });
          results.push(resultOf(rcpt.index, outcome));
        }
        return results;
      } catch (err) {
        return deferAll(QUEUE_FILE_DSN, queueFileReason(err));
      }
    },
    deferAll,
  );
}
