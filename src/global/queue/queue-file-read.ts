/*
 * queue-file-read - reads a queue file (DESIGN §2) for qmgr, the delivery
 * agents, postcat and showq: the envelope and recipients with each
 * recipient's record offset, the content's place in the file (skipped with
 * one seek, never read into memory here), and completeness. A file that is
 * truncated, has a bad record or lacks its end record raises a
 * queue_corrupt error naming what is wrong. markRecipientsDone() changes
 * recipients' status bytes in place and fsync()s them.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { fsyncFd, writeAllSync } from '../../util/file-io.js';
import { PetrelError } from '../errors.js';
import { isQueueId } from './queue-id.js';
import { decodeRecipient, QUEUE_FORMAT, RCPT_STATUS, REC, RECORD_HEADER_BYTES, type QueueRecipient } from './queue-records.js';

/** A recipient as read, with its status and where its record is. */
export interface StoredRecipient extends QueueRecipient {
  readonly status: string;
  /** File offset of the status byte. */
  readonly statusOffset: number;
  /** True for a recipient written after the content (extracted from headers, sendmail -t). */
  readonly extracted: boolean;
}

/** Everything in a queue file but the content. */
export interface QueueFileInfo {
  readonly arrival: number;
  readonly sender: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly recipients: readonly StoredRecipient[];
  /** Where the content starts in the file and how long it is. */
  readonly contentOffset: number;
  readonly contentSize: number;
  /** The bytes of the header part of the content, including the empty line that ends it. */
  readonly headerSize: number;
  /** A content filter (transport:nexthop) every recipient is delivered through, from content checks. */
  readonly filter?: string;
  /** The address every recipient is delivered to instead, from content checks. */
  readonly redirect?: string;
  /** An address verification probe: nothing is delivered, each recipient's deliverability goes to the verify service. */
  readonly probe?: true;
}

function corrupt(path: string, problem: string): PetrelError {
  return new PetrelError('queue_corrupt', `${path}: ${problem}`);
}

/** The first bytes of a file, read at once: the envelope records almost always lie within them. */
const HEAD_BYTES = 64 * 1024;

/** length bytes at position, from the head already read when they lie within it (synchronous reads: see util/file-io.ts). */
function readExactly(fd: number, length: number, position: number, path: string, head?: Buffer): Buffer {
  if (head !== undefined && position + length <= head.length) return head.subarray(position, position + length);
  const buffer = Buffer.alloc(length);
  const bytesRead = readSync(fd, buffer, 0, length, position);
  if (bytesRead !== length) throw corrupt(path, `truncated at offset ${position + bytesRead}`);
  return buffer;
}

/**
 * Opens the queue file at path for reading; returns its descriptor.
 * noFollow refuses a symbolic link and a file with more than one link (a
 * file a user put in maildrop/).
 */
export async function openQueueFile(path: string, options: { noFollow?: boolean } = {}): Promise<number> {
  let fd: number;
  try {
    fd = openSync(path, options.noFollow === true ? constants.O_RDONLY | constants.O_NOFOLLOW : constants.O_RDONLY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw corrupt(path, 'a symbolic link, not a queue file');
    throw new PetrelError('io', `open ${path}: ${(err as Error).message}`, { temporary: true, cause: err });
  }
  if (options.noFollow === true) {
    const st = fstatSync(fd);
    if (!st.isFile() || st.nlink !== 1) {
      closeSync(fd);
      throw corrupt(path, 'not a regular file with one link');
    }
  }
  return fd;
}

/** Reads the records of the queue file at path (synchronous reads: see util/file-io.ts). */
export async function readQueueFile(path: string): Promise<QueueFileInfo> {
  const fd = await openQueueFile(path);
  try {
    return await readQueueRecords(fd, path);
  } finally {
    closeSync(fd);
  }
}

/** Reads the records of an open queue file (path names it in errors). */
export async function readQueueRecords(fd: number, path: string): Promise<QueueFileInfo> {
  const size = fstatSync(fd).size;
  const buffer = Buffer.allocUnsafe(Math.min(size, HEAD_BYTES));
  const bytesRead = readSync(fd, buffer, 0, buffer.length, 0);
  const head = buffer.subarray(0, bytesRead);
  let position = 0;
  let arrival = Number.NaN;
  let sender: string | undefined;
  const attrs: Record<string, string> = {};
  const recipients: StoredRecipient[] = [];
  let contentOffset = -1;
  let contentSize = 0;
  let headerSize = 0;
  const routing: { filter?: string; redirect?: string; probe?: true } = {};
  let first = true;
  while (position < size) {
    const header = readExactly(fd, RECORD_HEADER_BYTES, position, path, head);
    const type = String.fromCharCode(header[0] as number);
    const length = header.readUIntBE(1, 6);
    const payloadAt = position + RECORD_HEADER_BYTES;
    if (payloadAt + length > size) throw corrupt(path, `record ${type} at offset ${position} runs past the end of the file`);
    if (first && type !== REC.version) throw corrupt(path, 'not a queue file (no format record)');
    first = false;
    if (type === REC.content) {
      contentOffset = payloadAt;
      contentSize = length;
    } else {
      const payload = readExactly(fd, length, payloadAt, path, head);
      const text = payload.toString('utf8');
      if (type === REC.version && text !== QUEUE_FORMAT) throw corrupt(path, `unknown format "${text}"`);
      else if (type === REC.queueId) {
        const name = basename(path);
        if (isQueueId(name) && text !== name) throw corrupt(path, `holds the old content of message ${text} (a reused file whose new content was lost in a crash)`);
      }
      else if (type === REC.time) arrival = Number(text);
      else if (type === REC.sender) sender = text;
      else if (type === REC.attr) {
        const eq = text.indexOf('=');
        if (eq <= 0) throw corrupt(path, `bad attribute record at offset ${position}`);
        attrs[text.slice(0, eq)] = text.slice(eq + 1);
      } else if (type === REC.recipient) {
        const { status, recipient } = decodeRecipient(payload);
        recipients.push({ ...recipient, status, statusOffset: payloadAt, extracted: contentOffset >= 0 });
      } else if (type === REC.filter) {
        routing.filter = text;
      } else if (type === REC.redirect) {
        routing.redirect = text;
      } else if (type === REC.probe) {
        routing.probe = true;
      } else if (type === REC.sizes) {
        headerSize = Number(text.split(' ')[1]);
      } else if (type === REC.end) {
        if (payloadAt + length !== size) throw corrupt(path, 'data after the end record');
        if (contentOffset < 0 || sender === undefined || !Number.isFinite(arrival)) {
          throw corrupt(path, 'missing envelope or content');
        }
        return { arrival, sender, attrs, recipients, contentOffset, contentSize, headerSize, ...routing };
      } else if (type !== REC.version) {
        throw corrupt(path, `unknown record type "${type}" at offset ${position}`);
      }
    }
    position = payloadAt + length;
  }
  throw corrupt(path, 'incomplete: no end record');
}

/**
 * The message content (LF line endings) in chunks, from a path or an open
 * descriptor (left open). Synchronous reads (see util/file-io.ts): a
 * consumer that stops early leaves nothing to tear down.
 */
export function* contentChunks(source: string | number, info: QueueFileInfo): Generator<Buffer> {
  if (info.contentSize === 0) return;
  const fd = typeof source === 'number' ? source : openSync(source, constants.O_RDONLY);
  try {
    const end = info.contentOffset + info.contentSize;
    for (let position = info.contentOffset; position < end; ) {
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, end - position));
      const bytesRead = readSync(fd, buffer, 0, buffer.length, position);
      if (bytesRead === 0) throw new PetrelError('queue_corrupt', `queue file truncated at offset ${position}`);
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    if (typeof source !== 'number') closeSync(fd);
  }
}

/** The content as a stream, for consumers that want one (an SMTP client, a child's stdin). */
export function contentStream(source: string | number, info: QueueFileInfo): Readable {
  return Readable.from(contentChunks(source, info));
}

/** The content as lines without their LF, after the given header lines; read one chunk at a time. */
export function* contentLines(source: string | number, info: QueueFileInfo, prepend: readonly string[]): Generator<Buffer> {
  for (const header of prepend) yield Buffer.from(header, 'utf8');
  let rest: Buffer = Buffer.alloc(0);
  for (const chunk of contentChunks(source, info)) {
    const data = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    let start = 0;
    for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
      yield data.subarray(start, nl);
      start = nl + 1;
    }
    rest = Buffer.from(data.subarray(start));
  }
  if (rest.length > 0) yield rest;
}

const CHUNK_BYTES = 64 * 1024;

/** Marks recipients done in place and makes that durable (one open and one fsync for all of them). */
export async function markRecipientsDone(path: string, recipients: readonly StoredRecipient[]): Promise<void> {
  if (recipients.length === 0) return;
  const fd = openSync(path, 'r+');
  try {
    const done = Buffer.from(RCPT_STATUS.done, 'latin1');
    for (const recipient of recipients) writeAllSync(fd, done, recipient.statusOffset);
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}
