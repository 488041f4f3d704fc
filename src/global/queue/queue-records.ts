/*
 * queue-records - the record types of a queue file (DESIGN §2) and their
 * on-disk framing. A record is one type byte, a 6-byte big-endian payload
 * length and the payload. A file is: V (format), I (its queue ID, so that
 * a reused file whose new content never reached the disk before a crash
 * is told from the message it held before), T (arrival), S (sender),
 * A* (attributes name=value), optionally P (the message is an address
 * verification probe: delivery agents only find out whether each recipient
 * is deliverable, and qmgr reports that to the verify service instead of
 * delivering or bouncing), R* (recipients), C (the message content, LF
 * line endings), Z (sizes), R* (recipients found in the content or added
 * by content checks), optionally L (a content filter transport:nexthop for
 * every recipient) and > (an address every recipient is redirected to),
 * E (end).
 * A file without its E record is incomplete and never delivered. A recipient
 * record starts with a status byte that is changed in place (one pwrite)
 * when the recipient is done. queue-file-write.ts and queue-file-read.ts are
 * the only code that touches these bytes.
 */

/** Record type bytes. */
export const REC = {
  version: 'V',
  queueId: 'I',
  time: 'T',
  sender: 'S',
  attr: 'A',
  /** An address verification probe (verify(8)); no payload. */
  probe: 'P',
  recipient: 'R',
  content: 'C',
  sizes: 'Z',
  /** FILTER transport:nexthop from content checks: every recipient goes there (Postfix's letter). */
  filter: 'L',
  /** REDIRECT address from content checks: delivered there instead of to each recipient (Postfix's letter). */
  redirect: '>',
  end: 'E',
} as const;

/** The payload of the V record. */
export const QUEUE_FORMAT = 'petrel-queue-1';

/** Bytes before a record's payload: the type and a 6-byte length. */
export const RECORD_HEADER_BYTES = 7;

/** Recipient status bytes. */
export const RCPT_STATUS = {
  /** Not yet delivered: qmgr still has work to do. */
  pending: '-',
  /** Delivered, bounced or dropped: never tried again. */
  done: 'D',
} as const;
export type RecipientStatus = (typeof RCPT_STATUS)[keyof typeof RCPT_STATUS];

/** One recipient as stored. */
export interface QueueRecipient {
  /** The address to deliver to. */
  readonly address: string;
  /** The recipient as the client gave it, before any rewriting (for orig_to= and X-Original-To). */
  readonly original: string;
  /** DSN NOTIFY keywords, e.g. "SUCCESS,DELAY", "NEVER", or "" when not given. */
  readonly notify: string;
  /** DSN ORCPT as given ("rfc822;user@example.com"), or "". */
  readonly orcpt: string;
}

/** Encodes a record header for a payload of length bytes. */
export function recordHeader(type: string, length: number): Buffer {
  const header = Buffer.alloc(RECORD_HEADER_BYTES);
  header.write(type, 0, 'latin1');
  header.writeUIntBE(length, 1, 6);
  return header;
}

/** Encodes a recipient record payload: the status byte then the fields separated by NUL. */
export function encodeRecipient(recipient: QueueRecipient, status: RecipientStatus): Buffer {
  const fields = [recipient.address, recipient.original, recipient.notify, recipient.orcpt];
  if (fields.some((field) => field.includes('\0'))) throw new Error('a recipient field contains NUL');
  return Buffer.from(status + fields.join('\0'), 'utf8');
}

/** Decodes a recipient record payload. */
export function decodeRecipient(payload: Buffer): { status: string; recipient: QueueRecipient } {
  const text = payload.toString('utf8');
  const [address = '', original = '', notify = '', orcpt = ''] = text.slice(1).split('\0');
  return { status: text[0] ?? '', recipient: { address, original, notify, orcpt } };
}
