/*
 * smtpd-input - what the SMTP server reads from a client: command lines,
 * DATA content up to the end-of-data line, and BDAT chunks of an exact
 * size, from one buffer fed by the socket (replaced by the TLS socket after
 * STARTTLS). It tells the session how much input is already waiting, which
 * is how smtpd recognises a client that talks before the greeting or
 * pipelines where it may not, and it can throw away what a client sent
 * ahead (no plaintext survives STARTTLS: the CVE-2011-0411 class). Reading
 * stops while a full buffer waits to be processed, so a client that floods
 * cannot make the process hold more than one buffer's worth. Used by
 * smtpd-session.ts; follows Postfix's smtp_stream(3) and smtpd(8).
 */
import type { Duplex } from 'node:stream';
import { Wakeup } from '../util/wakeup.js';

/** How much unprocessed input is held before the socket is paused. */
const HIGH_WATER = 256 * 1024;

/** One command line, without its line ending. */
export interface CommandLine {
  readonly text: Buffer;
  /** The line ended in a bare LF, not CRLF. */
  readonly bareLf: boolean;
  /** The line was longer than the limit; text holds its start only. */
  readonly tooLong: boolean;
}

/** Why a read ended without data. */
export type InputEnd = 'eof' | 'timeout';

/** The result of a read: the data, or why there is none. */
export type Read<T> = T | InputEnd;

/** Receives content as it is read. */
export type ContentSink = (chunk: Buffer) => void;

/** A decoder of DATA content: consumes raw bytes, says where the end-of-data line ended. */
export interface DataDecoder {
  /** Takes bytes; returns the offset just past the end-of-data line, or -1 when the data goes on. */
  feed(chunk: Buffer): number;
}

/** The input side of one SMTP session. */
export class SmtpInput {
  private chunks: Buffer[] = [];
  private length = 0;
  private ended = false;
  private readonly wakeup = new Wakeup();
  private socket: Duplex | undefined;
  private readonly onData = (chunk: Buffer): void => this.push(chunk);
  private readonly onEnd = (): void => this.finish();

  /**
   * @param timeoutMs the longest wait for the client's next bytes
   * @param beforeWait runs whenever a read must wait for the client (the session flushes its replies there)
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly beforeWait: () => void,
  ) {}

  /** Reads from socket from now on (the plain socket, then the TLS one). */
  attach(socket: Duplex): void {
    this.detach();
    this.socket = socket;
    this.ended = false;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onEnd);
    if (this.length < HIGH_WATER) socket.resume();
  }

  /** Stops reading from the current socket (before it is handed to TLS). */
  detach(): void {
    const socket = this.socket;
    if (socket === undefined) return;
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onEnd);
    socket.off('error', this.onEnd);
    socket.pause();
    this.socket = undefined;
  }

  /** Bytes received and not yet read. */
  get pending(): number {
    return this.length;
  }

  /** Up to max bytes of what is waiting, for a log line. */
  peek(max: number): Buffer {
    return this.take(Math.min(max, this.length), false);
  }

  /** Throws away everything received and not yet read. */
  discard(): void {
    this.chunks = [];
    this.length = 0;
    this.socket?.resume();
  }

  /** Puts bytes back in front of the input (what a PROXY header reader read past its header). */
  unshift(data: Buffer): void {
    if (data.length === 0) return;
    this.chunks.unshift(data);
    this.length += data.length;
  }

  /** The next command line, at most limit bytes (the rest of a longer line is read and dropped). */
  async line(limit: number): Promise<Read<CommandLine>> {
    let head: Buffer | undefined;
    let droppedCr = false;
    for (;;) {
      const at = this.indexOfLf();
      if (at >= 0) {
        const raw = this.take(at + 1, true);
        const crlf = at > 0 ? raw[at - 1] === 13 : droppedCr;
        if (head !== undefined) return { text: head, bareLf: !crlf, tooLong: true };
        const end = crlf ? at - 1 : at;
        return { text: raw.subarray(0, Math.min(end, limit)), bareLf: !crlf, tooLong: end > limit };
      }
      if (this.length > limit) {
        const dropped = this.take(this.length, true);
        head ??= Buffer.from(dropped.subarray(0, limit));
        droppedCr = dropped[dropped.length - 1] === 13;
      }
      const end = await this.more();
      if (end !== undefined) return end;
    }
  }

  /** Reads DATA content through decoder until it reports the end-of-data line; the bytes after it stay. */
  async data(decoder: DataDecoder): Promise<InputEnd | undefined> {
    for (;;) {
      while (this.chunks.length > 0) {
        const chunk = this.chunks.shift() as Buffer;
        this.length -= chunk.length;
        const end = decoder.feed(chunk);
        if (end >= 0) {
          this.unshift(chunk.subarray(end));
          this.socket?.resume();
          return undefined;
        }
      }
      this.socket?.resume();
      const end = await this.more();
      if (end !== undefined) return end;
    }
  }

  /** Reads exactly size bytes (a BDAT chunk), passing them to sink as they come. */
  async exact(size: number, sink: ContentSink): Promise<InputEnd | undefined> {
    let left = size;
    for (;;) {
      while (left > 0 && this.chunks.length > 0) {
        const chunk = this.chunks[0] as Buffer;
        if (chunk.length <= left) {
          this.chunks.shift();
          this.length -= chunk.length;
          left -= chunk.length;
          sink(chunk);
        } else {
          this.chunks[0] = chunk.subarray(left);
          this.length -= left;
          sink(chunk.subarray(0, left));
          left = 0;
        }
      }
      this.socket?.resume();
      if (left === 0) return undefined;
      const end = await this.more();
      if (end !== undefined) return end;
    }
  }

  /** True when a whole command line is waiting. */
  hasLine(): boolean {
    return this.indexOfLf() >= 0;
  }

  private push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.length >= HIGH_WATER) this.socket?.pause();
    this.wakeup.wake();
  }

  private finish(): void {
    this.ended = true;
    this.wakeup.wake();
  }

  /** Waits for more bytes: undefined when some came, else why none will. */
  private async more(): Promise<InputEnd | undefined> {
    if (this.ended) return 'eof';
    this.beforeWait();
    this.socket?.resume();
    const before = this.length;
    if (!(await this.wakeup.wait(this.timeoutMs))) return 'timeout';
    return this.length === before && this.ended ? 'eof' : undefined;
  }

  private indexOfLf(): number {
    let offset = 0;
    for (const chunk of this.chunks) {
      const at = chunk.indexOf(10);
      if (at >= 0) return offset + at;
      offset += chunk.length;
    }
    return -1;
  }

  /** The first n bytes, removed from the input when consume is set. */
  private take(n: number, consume: boolean): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0] as Buffer;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (consume) {
        if (first.length === n) this.chunks.shift();
        else this.chunks[0] = first.subarray(n);
      }
    } else {
      const whole = Buffer.concat(this.chunks, this.length);
      out = whole.subarray(0, n);
      if (consume) this.chunks = whole.length > n ? [whole.subarray(n)] : [];
    }
    if (consume) {
      this.length -= n;
      if (this.length < HIGH_WATER) this.socket?.resume();
    }
    return out;
  }
}
