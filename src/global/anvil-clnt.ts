/*
 * anvil-clnt - how smtpd tells the anvil service (anvil(8), DESIGN §1) of
 * a client's events and learns its counts: one connection per smtpd process
 * to $queue_directory/private/anvil, kept open, with many requests in
 * flight at once (each JSON request carries an id its reply repeats).
 * "connect" answers the client's simultaneous connections and connection
 * rate, "message", "recipient", "newtls" and "auth" count one event and
 * answer its rate, "newtls_status" answers the TLS session rate without
 * counting, and "disconnect" is sent without a reply. When anvil cannot be
 * reached or does not answer, the caller gets no counts and goes on without
 * limits, as Postfix's smtpd does: a warning is logged once when anvil goes
 * away and an info line when it is back. The request and reply shapes are
 * shared with the anvil daemon.
 */
import { join } from 'node:path';
import { FramedConnection, IpcError } from '../util/ipc-frame.js';
import { msg } from '../util/msg.js';
import type { Params } from './params/param-registry.js';

/** The anvil service socket, relative to the queue directory. */
export const ANVIL_SOCKET = join('private', 'anvil');

/** The events anvil counts, by Postfix's request names. */
export const ANVIL_REQUESTS = ['connect', 'disconnect', 'message', 'recipient', 'newtls', 'newtls_status', 'auth'] as const;

/** One anvil request name. */
export type AnvilRequestName = (typeof ANVIL_REQUESTS)[number];

/** smtpd → anvil: an event of the client at address on service (id 0: no reply wanted). */
export interface AnvilRequest {
  readonly id: number;
  readonly request: AnvilRequestName;
  /** The master.cf service name: Postfix counts per service and client. */
  readonly service: string;
  readonly address: string;
}

/** anvil → smtpd: the client's counts after the event (count: simultaneous connections, for "connect" only). */
export interface AnvilReply {
  readonly id: number;
  readonly count: number;
  readonly rate: number;
}

/** A request that is waiting for its reply. */
interface Pending {
  readonly resolve: (reply: AnvilReply | undefined) => void;
  readonly timer: NodeJS.Timeout;
}

/** How long the reader waits for a frame before it looks again (the connection stays open while idle). */
const READ_SLICE_MS = 60_000;

/** The anvil client of one process. */
export class AnvilClient {
  private conn: FramedConnection | undefined;
  private connecting: Promise<FramedConnection | undefined> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** True while anvil is known to be unreachable (its warning logged). */
  private down = false;

  constructor(private readonly params: Pick<Params, 'queue_directory' | 'ipc_timeout'>) {}

  private get path(): string {
    return join(this.params.queue_directory, ANVIL_SOCKET);
  }

  /** Counts one event of the client and answers its counts; undefined when anvil could not answer (logged). */
  async query(request: Exclude<AnvilRequestName, 'disconnect'>, service: string, address: string): Promise<AnvilReply | undefined> {
    const conn = await this.connection();
    if (conn === undefined) return undefined;
    const id = this.nextId++;
    const answer = new Promise<AnvilReply | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.unavailable(`no reply within ${this.params.ipc_timeout}s`);
        resolve(undefined);
      }, this.params.ipc_timeout * 1000);
      this.pending.set(id, { resolve, timer });
    });
    conn.sendJson({ id, request, service, address } satisfies AnvilRequest).catch((err: unknown) => this.lost(conn, err));
    return answer;
  }

  /** Tells anvil the client's connection is over; nothing when anvil is not connected (a new anvil does not know the connection). */
  disconnect(service: string, address: string): void {
    const conn = this.conn;
    if (conn === undefined || !conn.open) return;
    conn.sendJson({ id: 0, request: 'disconnect', service, address } satisfies AnvilRequest).catch((err: unknown) => this.lost(conn, err));
  }

  /** Closes the connection (the process is finishing). */
  close(): void {
    this.conn?.close();
    this.conn = undefined;
  }

  private async connection(): Promise<FramedConnection | undefined> {
    if (this.conn?.open === true) return this.conn;
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<FramedConnection | undefined> {
    let conn: FramedConnection;
    try {
      conn = await FramedConnection.connect(this.path, this.params.ipc_timeout * 1000);
    } catch (err) {
      this.unavailable((err as Error).message);
      return undefined;
    }
    this.conn = conn;
    if (this.down) {
      this.down = false;
      msg.info(`connected to ${ANVIL_SOCKET} again: client limits are enforced`);
    }
    void this.read(conn);
    return conn;
  }

  private async read(conn: FramedConnection): Promise<void> {
    for (;;) {
      let frame;
      try {
        frame = await conn.next(READ_SLICE_MS);
      } catch (err) {
        // A quiet connection is not a broken one: requests have their own deadlines.
        if (conn.open) continue;
        this.lost(conn, err);
        return;
      }
      if (frame === undefined) {
        this.lost(conn, new IpcError('anvil closed the connection'));
        return;
      }
      const reply = JSON.parse(frame.payload.toString('utf8')) as AnvilReply;
      const waiting = this.pending.get(reply.id);
      if (waiting === undefined) continue;
      this.pending.delete(reply.id);
      clearTimeout(waiting.timer);
      waiting.resolve(reply);
    }
  }

  /** The connection broke: every request on it goes unanswered. */
  private lost(conn: FramedConnection, err: unknown): void {
    if (this.conn === conn) this.conn = undefined;
    conn.socket.destroy();
    if (this.pending.size > 0) this.unavailable((err as Error).message);
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.resolve(undefined);
      this.pending.delete(id);
    }
  }

  private unavailable(reason: string): void {
    if (this.down) return;
    this.down = true;
    msg.warn(`problem talking to service ${ANVIL_SOCKET}: ${reason}; client connection, rate and event limits are not enforced until it answers`);
  }
}
