/*
 * table-stream - what the socketmap: and tcp: tables share: the limits of
 * their client, a StreamClient per server shared by the process's tables
 * (stream-client.ts), and failures turned into temporary PetrelErrors
 * naming the table, so that a server that cannot answer defers mail and is
 * never "not found". Used by table-socketmap.ts and table-tcp.ts.
 */
import { sharedStreamClients, StreamClient, type ReplyDecoder, type StreamEndpoint } from '../../util/stream-client.js';
import { PetrelError } from '../errors.js';

/** Limits of a socketmap: or tcp: client. */
export interface StreamTableLimits {
  /** Deadline of one lookup. */
  readonly timeoutMs: number;
  /** The largest reply accepted (socketmap: without the netstring framing; tcp: with the newline). */
  readonly maxReply: number;
  /** Kept connections close after this long unused. */
  readonly idleMs: number;
  /** Connections older than this are not reused. */
  readonly ttlMs: number;
  /** Connections open at once to one server, per process. */
  readonly maxConnections: number;
}

/** The server side of one table: requests, failures and release. */
export interface StreamTableClient {
  /** The server's reply to payload; a temporary PetrelError when there is none. */
  request(payload: Buffer): Promise<Buffer>;
  /** A temporary PetrelError naming the table, for a reply the table cannot use. */
  failed(reason: string): PetrelError;
  /** Lets go of the shared client. */
  close(): Promise<void>;
}

/** The client of table spec for the server at endpoint; kind and server name the shared client. */
export function openStreamTableClient(spec: string, kind: string, server: string, endpoint: StreamEndpoint, limits: StreamTableLimits, decoder: () => ReplyDecoder): StreamTableClient {
  const shared = sharedStreamClients.acquire(`${kind} ${server} ${limits.timeoutMs} ${limits.maxReply}`, () => new StreamClient(endpoint, { ...limits, decoder }));
  const failed = (reason: string, cause?: unknown): PetrelError => new PetrelError('table_lookup', `${spec}: ${reason}`, { temporary: true, cause });
  return {
    async request(payload) {
      try {
        return await shared.resource.request(payload);
      } catch (err) {
        throw failed(`lookup error: ${(err as Error).message}`, err);
      }
    },
    failed: (reason) => failed(reason),
    async close() {
      shared.release();
    },
  };
}
