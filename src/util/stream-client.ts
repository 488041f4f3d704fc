/*
 * stream-client - a client for one-request-one-reply protocols over TCP or
 * a Unix-domain socket (socketmap_table(5), tcp_table(5)). Connections are
 * kept and reused: a connection idle for idleMs is closed, one older than
 * ttlMs is not reused, nor one that carried requestLimit requests, and at
 * most maxConnections are open at once (more requests wait their turn). A kept connection the server closed is
 * replaced by a new one and the request sent again, once, so a server
 * restart is invisible; every request has one deadline covering the wait,
 * the connect and the reply. Idle connections keep no process alive.
 * Clients are shared per endpoint within a process through
 * sharedStreamClients. Follows Postfix's auto_clnt(3).
 */
import { connect, type Socket } from 'node:net';
import { SharedResources } from './shared-resources.js';

/** Where the server listens. */
export type StreamEndpoint = { readonly host: string; readonly port: number } | { readonly path: string };

/** Splits a connection's bytes into replies; throws on bad framing or an oversize reply. */
export interface ReplyDecoder {
  push(chunk: Buffer): Buffer[];
}

/** How a request failed: no connection, connection lost, deadline passed, bad reply, or client closed. */
export type StreamFailure = 'connect' | 'lost' | 'timeout' | 'protocol' | 'closed';

/** A request that got no usable reply. */
export class StreamClientError extends Error {
  readonly failure: StreamFailure;

  constructor(failure: StreamFailure, message: string) {
    super(message);
    this.name = 'StreamClientError';
    this.failure = failure;
  }
}

/** Limits and framing of a client. */
export interface StreamClientOptions {
  /** Deadline of one request, from the call to the reply. */
  readonly timeoutMs: number;
  /** A connection unused this long is closed. */
  readonly idleMs: number;
  /** A connection older than this is closed instead of reused. */
  readonly ttlMs: number;
  /** The most connections open at once. */
  readonly maxConnections: number;
  /** A connection that carried this many requests is closed (0 or absent: no limit). */
  readonly requestLimit?: number;
  /** A fresh reply decoder for each new connection. */
  readonly decoder: () => ReplyDecoder;
}

/** The text of an endpoint for messages: host:port or the socket path. */
export function endpointText(endpoint: StreamEndpoint): string {
  return 'path' in endpoint ? endpoint.path : `${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
}

/** host:port or [ipv6-address]:port as an endpoint; undefined when it is not of that form. */
export function parseHostPort(text: string): StreamEndpoint | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (match === null) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (match[1] ?? match[2]) as string, port };
}

/** The C library's words for the connect failures people meet (Node's messages repeat the address). */
const SYSTEM_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Connection refused',
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ETIMEDOUT: 'Connection timed out',
};

/** err's message, in the C library's words when it is one of the common connect failures. */
export function systemErrorText(err: Error): string {
  return SYSTEM_ERRORS[(err as NodeJS.ErrnoException).code ?? ''] ?? err.message;
}

/** One connection and its one outstanding request. */
class Connection {
  readonly born = Date.now();
  /** False once the connection failed or was closed. */
  alive = true;
  /** True once a request completed on it (a later failure may be a server restart). */
  used = false;
  /** Requests completed on it. */
  requests = 0;
  private pending: { resolve(reply: Buffer): void; reject(err: StreamClientError): void } | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Part of a reply has arrived. */
  private replyStarted = false;

  constructor(
    readonly socket: Socket,
    private readonly decoder: ReplyDecoder,
    private readonly gone: (conn: Connection) => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('end', () => this.lost('connection closed by the server'));
    socket.on('close', () => this.lost('connection closed'));
    socket.on('error', (err) => this.lost(err.message));
  }

  /** Sends payload and resolves with the one reply, failing the connection at deadline. */
  exchange(payload: Buffer, deadline: number): Promise<Buffer> {
    if (!this.alive) return Promise.reject(new StreamClientError('lost', 'connection closed'));
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new StreamClientError('timeout', 'timed out waiting for the reply')), Math.max(0, deadline - Date.now()));
      this.pending = {
        resolve: (reply) => {
          clearTimeout(timer);
          this.used = true;
          this.requests++;
          resolve(reply);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.socket.write(payload);
    });
  }

  /** Parks the connection: it no longer keeps the process alive and closes after idleMs. */
  park(idleMs: number): void {
    this.socket.unref();
    this.idleTimer = setTimeout(() => this.close(), idleMs);
    this.idleTimer.unref();
  }

  /** Takes the connection out of the idle list for a request. */
  unpark(): void {
    clearTimeout(this.idleTimer);
    this.socket.ref();
  }

  close(): void {
    this.fail(new StreamClientError('closed', 'connection closed by the client'));
  }

  /** The connection broke: before any of the reply came (worth a retry on a new one), or in its middle. */
  private lost(reason: string): void {
    if (this.replyStarted) this.fail(new StreamClientError('protocol', `${reason} in the middle of the reply`));
    else this.fail(new StreamClientError('lost', reason));
  }

  private received(chunk: Buffer): void {
    this.replyStarted = true;
    let replies: Buffer[];
    try {
      replies = this.decoder.push(chunk);
    } catch (err) {
      this.fail(new StreamClientError('protocol', (err as Error).message));
      return;
    }
    if (replies.length === 0) return;
    this.replyStarted = false;
    const pending = this.pending;
    this.pending = undefined;
    if (pending === undefined || replies.length > 1) {
      this.fail(new StreamClientError('protocol', 'the server sent a reply nobody asked for'));
      pending?.reject(new StreamClientError('protocol', 'the server sent more than one reply'));
      return;
    }
    pending.resolve(replies[0] as Buffer);
  }

  private fail(err: StreamClientError): void {
    if (!this.alive) return;
    this.alive = false;
    clearTimeout(this.idleTimer);
    this.socket.destroy();
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(err);
    this.gone(this);
  }
}

/** A request waiting for a connection slot. */
interface Waiter {
  wake(conn: Connection | undefined): void;
}

/** Requests to one server over kept connections. */
export class StreamClient {
  private readonly idle: Connection[] = [];
  private readonly waiters: Waiter[] = [];
  private open = 0;
  private closed = false;

  constructor(
    readonly endpoint: StreamEndpoint,
    private readonly options: StreamClientOptions,
  ) {}

  /** The server's one reply to payload; throws StreamClientError. */
  async request(payload: Buffer): Promise<Buffer> {
    const deadline = Date.now() + this.options.timeoutMs;
    let conn = await this.acquire(deadline);
    try {
      return await conn.exchange(payload, deadline);
    } catch (err) {
      if (!(err instanceof StreamClientError) || err.failure !== 'lost' || !conn.used) throw err;
      // A kept connection the server closed (a restart, its idle limit): once more on a new one.
      conn = await this.acquire(deadline, true);
      return await conn.exchange(payload, deadline);
    } finally {
      this.release(conn);
    }
  }

  /** Closes every connection; requests after this fail. */
  close(): void {
    this.closed = true;
    for (const conn of this.idle.splice(0)) conn.close();
    for (const waiter of this.waiters.splice(0)) waiter.wake(undefined);
  }

  /** A kept connection (unless fresh), a new one when below the limit, or the next one released. */
  private async acquire(deadline: number, fresh = false): Promise<Connection> {
    for (;;) {
      if (this.closed) throw new StreamClientError('closed', 'the table was closed');
      for (let conn = fresh ? undefined : this.idle.pop(); conn !== undefined; conn = this.idle.pop()) {
        if (conn.alive && Date.now() - conn.born < this.options.ttlMs) {
          conn.unpark();
          return conn;
        }
        conn.close();
      }
      if (this.open < this.options.maxConnections) return this.connect(deadline);
      const handed = await this.wait(deadline);
      if (handed !== undefined) return handed;
    }
  }

  /** Waits until a connection is released (handed over) or closed (a free slot: undefined). */
  private wait(deadline: number): Promise<Connection | undefined> {
    return new Promise<Connection | undefined>((resolve, reject) => {
      const waiter: Waiter = {
        wake: (conn) => {
          clearTimeout(timer);
          resolve(conn);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new StreamClientError('timeout', `timed out waiting for a free connection to ${endpointText(this.endpoint)}`));
      }, Math.max(0, deadline - Date.now()));
      this.waiters.push(waiter);
    });
  }

  private connect(deadline: number): Promise<Connection> {
    this.open++;
    return new Promise<Connection>((resolve, reject) => {
      const where = endpointText(this.endpoint);
      const socket = connect({ ...this.endpoint, noDelay: true });
      let settled = false;
      const failed = (message: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        this.slotFreed();
        reject(new StreamClientError('connect', `connect to ${where}: ${message}`));
      };
      const timer = setTimeout(() => failed('timed out'), Math.max(0, deadline - Date.now()));
      socket.once('error', (err) => failed(systemErrorText(err)));
      socket.once('connect', () => {
        settled = true;
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new Connection(socket, this.options.decoder(), (conn) => this.ended(conn)));
      });
    });
  }

  /** An open connection ended: it leaves the idle list and frees its slot. */
  private ended(conn: Connection): void {
    const at = this.idle.indexOf(conn);
    if (at >= 0) this.idle.splice(at, 1);
    this.slotFreed();
  }

  /** A connection slot is free: a waiting request may open a new connection. */
  private slotFreed(): void {
    this.open--;
    this.waiters.shift()?.wake(undefined);
  }

  /** Gives conn to the next waiting request, or parks it. */
  private release(conn: Connection): void {
    if (!conn.alive) return;
    const limit = this.options.requestLimit ?? 0;
    if (this.closed || (limit > 0 && conn.requests >= limit)) {
      conn.close();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter.wake(conn);
      return;
    }
    conn.park(this.options.idleMs);
    this.idle.push(conn);
  }
}

/** Clients shared within the process, by key (acquire one, release it when done). */
export const sharedStreamClients = new SharedResources<StreamClient>((client) => client.close());
