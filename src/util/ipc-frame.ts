/*
 * ipc-frame - the one framing every pair of Petrel daemons speaks over a
 * Unix socket (DESIGN §1, STYLE "Protocols"): a frame is a 4-byte big-endian
 * length, one kind byte and the payload, so it is binary-safe. Requests and
 * replies are JSON frames; message content travels as data frames, one chunk
 * at a time, so nothing holds a whole message in memory. Every wait has a
 * deadline. Used by the client modules in global/ and by the daemons.
 */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { Wakeup } from './wakeup.js';

/** Frame kinds. */
export const FRAME = { json: 0x4a, data: 0x44, end: 0x45 } as const;

const HEADER = 5;
/** The most bytes hold() keeps back before it sends them anyway. */
const HOLD_LIMIT = 64 * 1024;
/** The largest frame accepted; a peer sending more is broken. */
const MAX_FRAME = 16 * 1024 * 1024;

/** One received frame. */
export interface Frame {
  readonly kind: number;
  readonly payload: Buffer;
}

/** Raised when a peer breaks the protocol, goes away or misses a deadline. */
export class IpcError extends Error {}

/** A framed, bidirectional connection. */
export class FramedConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly frames: Frame[] = [];
  private readonly wakeup = new Wakeup();
  private ended = false;
  private failure: Error | undefined;
  private holding = false;
  private held = 0;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.finish());
    socket.on('close', () => this.finish());
    socket.on('error', (err) => {
      this.failure = err;
      this.finish();
    });
  }

  /** Connects to a Unix socket within timeoutMs. */
  static async connect(path: string, timeoutMs: number): Promise<FramedConnection> {
    const socket = connect(path);
    const timer = setTimeout(() => socket.destroy(new IpcError(`connect to ${path}: timed out`)), timeoutMs);
    try {
      await once(socket, 'connect');
    } catch (err) {
      throw new IpcError(`connect to ${path}: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    return new FramedConnection(socket);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= HEADER) {
      const length = this.buffer.readUInt32BE(0);
      if (length > MAX_FRAME) {
        this.failure = new IpcError(`frame of ${length} bytes is too large`);
        this.socket.destroy();
        return;
      }
      if (this.buffer.length < HEADER + length) break;
      this.frames.push({ kind: this.buffer[4] as number, payload: this.buffer.subarray(HEADER, HEADER + length) });
      this.buffer = this.buffer.subarray(HEADER + length);
    }
    if (this.frames.length > 16) this.socket.pause();
    this.wake();
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    this.wakeup.wake();
  }

  /** The next frame, or undefined when the peer closed; throws after timeoutMs. */
  async next(timeoutMs: number): Promise<Frame | undefined> {
    while (this.frames.length === 0) {
      if (this.ended) {
        if (this.failure !== undefined) throw new IpcError(this.failure.message);
        return undefined;
      }
      if (!(await this.wakeup.wait(timeoutMs))) throw new IpcError('timed out waiting for the peer');
    }
    const frame = this.frames.shift() as Frame;
    if (this.frames.length <= 4) this.socket.resume();
    return frame;
  }

  /** True until the peer closed, or the connection failed or was closed here. */
  get open(): boolean {
    return !this.ended && !this.socket.destroyed && this.socket.writable;
  }

  /** The next frame, which must be JSON; parsed. */
  async nextJson<T>(timeoutMs: number): Promise<T> {
    const frame = await this.next(timeoutMs);
    if (frame === undefined) throw new IpcError('the peer closed the connection');
    if (frame.kind !== FRAME.json) throw new IpcError(`expected a request or reply, got frame kind ${frame.kind}`);
    return JSON.parse(frame.payload.toString('utf8')) as T;
  }

  /** Sends one frame, waiting when the socket's buffer is full. */
  async send(kind: number, payload: Buffer): Promise<void> {
    const header = Buffer.alloc(HEADER);
    header.writeUInt32BE(payload.length, 0);
    header[4] = kind;
    if (this.socket.destroyed || this.ended) throw new IpcError('the peer closed the connection');
    // Header and payload leave in one system call (writev), not two.
    this.socket.cork();
    this.socket.write(header);
    const room = this.socket.write(payload);
    this.socket.uncork();
    if (this.holding) {
      this.held += HEADER + payload.length;
      if (!room || this.held >= HOLD_LIMIT) {
        // Held frames leave before any wait for room: a corked socket never drains.
        this.socket.uncork();
        this.socket.cork();
        this.held = 0;
      }
    }
    if (room) return;
    await new Promise<void>((resolve, reject) => {
      const settle = (err?: Error): void => {
        this.socket.off('drain', onDrain);
        this.socket.off('close', onClose);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onDrain = (): void => settle();
      const onClose = (): void => settle(new IpcError('the peer closed the connection'));
      this.socket.on('drain', onDrain);
      this.socket.on('close', onClose);
    });
  }

  /**
   * Holds the frames sent from now on until release() (or until HOLD_LIMIT
   * bytes are held), so that frames sent one after another while the peer
   * has nothing to answer leave in one write and arrive as one read.
   */
  hold(): void {
    if (this.holding) return;
    this.holding = true;
    this.held = 0;
    this.socket.cork();
  }

  /** Sends what hold() kept. */
  release(): void {
    if (!this.holding) return;
    this.holding = false;
    this.socket.uncork();
  }

  /** Sends a JSON frame. */
  sendJson(value: unknown): Promise<void> {
    return this.send(FRAME.json, Buffer.from(JSON.stringify(value), 'utf8'));
  }

  /** Closes the connection. */
  close(): void {
    this.socket.end();
  }
}
