/*
 * queue-file-write - writes a new queue file (DESIGN §2) for cleanup and
 * postdrop: envelope records, then the content streamed in (never held whole
 * in memory) with its length patched in afterwards, then sizes, late
 * recipients and the end record. The file (a new one, or for cleanup one
 * that a finished message left in recycle/, see queue-recycle.ts) is built
 * under a temporary name in the target queue and published by rename once
 * it is complete; the file (and, where that does not cover its new name, its
 * directory) is fsync()ed before commit() returns: when commit() resolves
 * the message survives a crash, and a reader never sees a half-written file.
 */
import { closeSync, constants, ftruncateSync, openSync, renameSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PetrelError } from '../errors.js';
import { newQueueId } from './queue-id.js';
import { takeRecycledFile } from './queue-recycle.js';
import { queueFilePath, queuePath, type MessageQueue } from './queue-paths.js';
import { encodeRecipient, QUEUE_FORMAT, RCPT_STATUS, REC, recordHeader, RECORD_HEADER_BYTES, type QueueRecipient } from './queue-records.js';
import { fsyncCoversRename, fsyncDirectory, fsyncFd, writeAllSync } from '../../util/file-io.js';

const FLUSH_BYTES = 64 * 1024;

/** Opens a spare file taken from recycle/; one that cannot be opened (someone else's, say) is removed, and undefined returned. */
function openRecycled(path: string): number | undefined {
  try {
    return openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW);
  } catch {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
    return undefined;
  }
}

/** The envelope cleanup knows before the content arrives. */
export interface QueueEnvelope {
  readonly arrival: number;
  readonly sender: string;
  /** Client and message attributes (client_name, client_address, helo_name, protocol, envid, ret ...). */
  readonly attrs: Readonly<Record<string, string>>;
  /** An address verification probe (verify(8)). */
  readonly probe?: boolean;
}

/** Writes one queue file; create(), then envelope, recipients and content, then commit() or abort(). */
export class QueueFileWriter {
  readonly id: string;
  private readonly tempPath: string;
  private finalPath: string;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private position = 0;
  private contentStart = -1;
  /** The content record's header while it is still in the buffer (patched there, saving a write). */
  private contentHeader: Buffer | undefined;
  private contentBytes = 0;
  private headerBytes = -1;
  private lastByte = 10;
  private recipients = 0;
  private contentEnded = false;
  private closed = false;
  /** True once the file carries its final name. */
  private published = false;
  /** The queue the file is published in: where it was created, unless publishIn() moved it (hold/). */
  private target: MessageQueue;

  private constructor(
    private readonly fd: number,
    private readonly queue: MessageQueue,
    id: string,
    tempPath: string,
    finalPath: string,
    /** A recycled file still holds an old message past what is written: it is cut at commit. */
    private readonly recycled: boolean,
  ) {
    this.id = id;
    this.tempPath = tempPath;
    this.finalPath = finalPath;
    this.target = queue;
  }

  /** Opens a new file for a fresh queue ID in queue (incoming by default). */
  static async create(queueDirectory: string, queue: MessageQueue = 'incoming'): Promise<QueueFileWriter> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const id = newQueueId();
      const finalPath = queueFilePath(queueDirectory, queue, id);
      const tempPath = join(queuePath(queueDirectory, queue), `.${id}.tmp`);
      try {
        // A user's maildrop file must be readable by pickup, which runs as mail_owner; it is never a recycled one.
        const reused = queue !== 'maildrop' && takeRecycledFile(queueDirectory, tempPath) ? openRecycled(tempPath) : undefined;
        const recycled = reused !== undefined;
        const fd = reused ?? openSync(tempPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, queue === 'maildrop' ? 0o644 : 0o600);
        const writer = new QueueFileWriter(fd, queue, id, tempPath, finalPath, recycled);
        writer.record(REC.version, QUEUE_FORMAT);
        writer.record(REC.queueId, id);
        return writer;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new PetrelError('io', `create queue file in ${queue}: ${(err as Error).message}`, { temporary: true, cause: err });
        }
      }
    }
    throw new PetrelError('io', `cannot create a unique queue file in ${queue}`, { temporary: true });
  }

  private push(data: Buffer): void {
    this.buffered.push(data);
    this.bufferedBytes += data.length;
    this.position += data.length;
  }

  private record(type: string, payload: string | Buffer): void {
    const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    this.push(recordHeader(type, data.length));
    this.push(data);
  }

  private async flush(): Promise<void> {
    if (this.bufferedBytes === 0) return;
    const data = Buffer.concat(this.buffered, this.bufferedBytes);
    this.buffered = [];
    this.bufferedBytes = 0;
    this.contentHeader = undefined;
    writeAllSync(this.fd, data, this.position - data.length);
  }

  /** Writes the envelope: arrival time, sender and attributes. */
  envelope(envelope: QueueEnvelope): void {
    this.record(REC.time, String(envelope.arrival));
    this.record(REC.sender, envelope.sender);
    for (const [name, value] of Object.entries(envelope.attrs)) {
      if (name.includes('=') || /[\0\n]/.test(name + value)) throw new PetrelError('io', `bad queue file attribute ${name}`);
      this.record(REC.attr, `${name}=${value}`);
    }
    if (envelope.probe === true) this.record(REC.probe, '');
  }

  /** True once beginContent() was called. */
  get contentStarted(): boolean {
    return this.contentStart >= 0;
  }

  /** Adds a recipient (before or after the content, never in the middle of it). */
  recipient(recipient: QueueRecipient): void {
    if (this.contentStart >= 0 && !this.contentEnded) throw new Error('recipient written inside the content');
    this.record(REC.recipient, encodeRecipient(recipient, RCPT_STATUS.pending));
    this.recipients++;
  }

  /** Sends every recipient through a content filter (transport:nexthop) or to one address instead; after the content. */
  route(type: typeof REC.filter | typeof REC.redirect, value: string): void {
    if (!this.contentEnded) throw new Error('a routing record written before the end of the content');
    if (/[\0\n]/.test(value)) throw new PetrelError('io', `bad queue file routing record ${value}`);
    this.record(type, value);
  }

  /** Publishes the file in another queue than the one it was created for (hold/ for a HOLD action). */
  publishIn(queue: MessageQueue, queueDirectory: string): void {
    this.finalPath = queueFilePath(queueDirectory, queue, this.id);
    this.target = queue;
  }

  /** The queue commit() publishes the file in. */
  get destination(): MessageQueue {
    return this.target;
  }

  /** Starts the content record; its length is patched in by endContent(). */
  beginContent(): void {
    this.contentHeader = recordHeader(REC.content, 0);
    this.push(this.contentHeader);
    this.contentStart = this.position;
  }

  /** Appends content bytes (LF line endings); the empty line that ends the header is noted. */
  async writeContent(data: Buffer): Promise<void> {
    if (this.contentStart < 0) throw new Error('writeContent before beginContent');
    if (this.headerBytes < 0) {
      for (let i = 0; i < data.length; i++) {
        const byte = data[i] as number;
        if (byte === 10 && this.lastByte === 10) {
          this.headerBytes = this.contentBytes + i + 1;
          break;
        }
        this.lastByte = byte;
      }
    }
    this.push(data);
    this.contentBytes += data.length;
    if (this.bufferedBytes >= FLUSH_BYTES) await this.flush();
  }

  /** Ends the content and writes its sizes. */
  async endContent(): Promise<void> {
    if (this.contentHeader !== undefined) {
      this.contentHeader.writeUIntBE(this.contentBytes, 1, 6);
    } else {
      const header = recordHeader(REC.content, this.contentBytes);
      writeAllSync(this.fd, header, this.contentStart - RECORD_HEADER_BYTES);
    }
    const headerBytes = this.headerBytes < 0 ? this.contentBytes : this.headerBytes;
    this.record(REC.sizes, `${this.contentBytes} ${headerBytes}`);
    this.contentEnded = true;
  }

  /** How many content bytes were written so far. */
  get contentSize(): number {
    return this.contentBytes;
  }

  /** Writes the end record, makes the file durable and publishes it; returns the queue ID. */
  async commit(): Promise<string> {
    const finalPath = this.finalPath;
    if (this.contentStart < 0) throw new Error('commit without content');
    // A maildrop file may leave its recipients to "sendmail -t" extraction by cleanup.
    if (this.recipients === 0 && this.queue !== 'maildrop') throw new PetrelError('io', 'no recipients');
    this.record(REC.end, '');
    try {
      await this.flush();
      if (this.recycled) ftruncateSync(this.fd, this.position);
      // Published complete but before it is durable, so that on the usual Linux file systems the file's
      // fsync() makes its new name durable too (fsyncCoversRename) and the directory needs no fsync of its
      // own: one wait for the disk, not two. A reader that finds the file early sees all of it; if the
      // fsync fails the file is removed again and the client told to retry: at worst a message goes out twice.
      renameSync(this.tempPath, finalPath);
      this.finalPath = finalPath;
      this.published = true;
      await fsyncFd(this.fd);
      closeSync(this.fd);
      this.closed = true;
      if (fsyncCoversRename(dirname(this.finalPath))) return this.id;
      await fsyncDirectory(this.finalPath).catch((err: unknown) => {
        // A user other than mail_owner may write into maildrop/ (mode 1733) but cannot open it to fsync it.
        if (this.queue !== 'maildrop' || (err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
      });
    } catch (err) {
      await this.abort();
      throw new PetrelError('io', `write queue file ${this.id}: ${(err as Error).message}`, { temporary: true, cause: err });
    }
    return this.id;
  }

  /** Discards the file. */
  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      try {
        closeSync(this.fd);
      } catch {
        // already gone
      }
    }
    try {
      unlinkSync(this.published ? this.finalPath : this.tempPath);
    } catch {
      // never created, or already removed
    }
  }
}
