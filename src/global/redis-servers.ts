/*
 * redis-servers - the one Redis client code of Petrel, shared by redis:
 * tables (table-redis.ts) and the anvil service's shared counts: a set of
 * servers tried in order (a failed one skipped for a minute while another
 * answers), logged into with username, password and db, one connection at
 * a time made at the first command and made again after the server closed
 * it. ioredis runs without its offline queue or its own reconnection, so a
 * server that is down fails every command at once, and every connect and
 * command has a deadline: never a hang. The connection settings are
 * declared once (REDIS_SERVER_PARAMS) for every configuration file that
 * names Redis servers.
 */
import type { Redis } from 'ioredis';
import { endpointText, parseHostPort, systemErrorText, type StreamEndpoint } from '../util/stream-client.js';
import { PetrelError } from './errors.js';
import { defineParams, type ParamsOf } from './params/param-types.js';

/** The connection settings of a file that names Redis servers (a redis: table's, anvil's). */
export const REDIS_SERVER_PARAMS = defineParams({
  hosts: { kind: 'list', default: 'localhost', doc: 'Redis servers tried in order: host, host:port, inet:host:port, [address]:port or unix:/path' },
  username: { kind: 'string', default: '', doc: 'ACL user name (Redis 6 and later); empty: the default user' },
  password: { kind: 'string', default: '', doc: 'password sent with AUTH; empty: none' },
  db: { kind: 'int', default: '0', min: 0, doc: 'the database number selected after connecting' },
  timeout: { kind: 'time', default: '10s', min: 1, doc: 'deadline for connecting and for each command' },
});

const DEFAULT_PORT = 6379;
/** How long a server that failed is skipped while another one answers (Postfix's mysql client waits as long). */
const RETRY_INTERVAL_MS = 60_000;

/** One hosts item (host, host:port, inet:host:port, [address]:port or unix:/path) as an endpoint; where names the setting in errors. */
export function parseRedisHost(item: string, where: string): StreamEndpoint {
  if (item.startsWith('unix:') && item.length > 5) return { path: item.slice(5) };
  const inet = item.startsWith('inet:') ? item.slice(5) : item;
  const endpoint = parseHostPort(inet) ?? parseHostPort(`${inet}:${DEFAULT_PORT}`);
  if (endpoint === undefined) throw new PetrelError('config', `${where}: bad hosts item "${item}"`);
  return endpoint;
}

/** How to reach and log into a set of servers. */
export interface RedisServerSet {
  readonly endpoints: readonly StreamEndpoint[];
  readonly username: string;
  readonly password: string;
  readonly db: number;
  readonly timeoutMs: number;
}

/** True for errors of the connection rather than Redis's reply to a command. */
function connectionFailure(err: unknown): boolean {
  return !(err instanceof Error && err.name === 'ReplyError');
}

/** One connection at a time to the first server of a set that answers. */
export class RedisServers {
  private client: Redis | undefined;
  /** True once the current client answered a command (a later failure may be a server restart). */
  private used = false;
  private connecting: Promise<Redis> | undefined;
  private readonly failedAt = new Map<StreamEndpoint, number>();
  private closed = false;

  constructor(private readonly set: RedisServerSet) {}

  /** Runs command on a ready connection; a kept connection that broke is replaced and the command run again, once. */
  async run<T>(command: (redis: Redis) => Promise<T>): Promise<T> {
    let redis = await this.ready();
    const kept = this.used;
    try {
      const result = await command(redis);
      this.used = true;
      return result;
    } catch (err) {
      if (!connectionFailure(err)) throw err;
      this.drop(redis);
      if (!kept || (err as Error).message === 'Command timed out') throw err;
      redis = await this.ready();
      const result = await command(redis);
      this.used = true;
      return result;
    }
  }

  close(): void {
    this.closed = true;
    if (this.client !== undefined) this.drop(this.client);
  }

  private ready(): Promise<Redis> {
    if (this.closed) return Promise.reject(new Error('the connection was closed'));
    if (this.client?.status === 'ready') return Promise.resolve(this.client);
    this.connecting ??= this.connectAny().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private drop(redis: Redis): void {
    redis.disconnect();
    if (this.client === redis) this.client = undefined;
  }

  /** Servers in order, those that failed recently last. */
  private candidates(): StreamEndpoint[] {
    const now = Date.now();
    const recent = (endpoint: StreamEndpoint): boolean => now - (this.failedAt.get(endpoint) ?? -Infinity) < RETRY_INTERVAL_MS;
    return [...this.set.endpoints.filter((e) => !recent(e)), ...this.set.endpoints.filter(recent)];
  }

  private async connectAny(): Promise<Redis> {
    if (this.client !== undefined) this.drop(this.client);
    const errors: string[] = [];
    for (const endpoint of this.candidates()) {
      try {
        const redis = await this.connectOne(endpoint);
        if (this.closed) {
          redis.disconnect();
          throw new Error('the connection was closed');
        }
        this.client = redis;
        this.used = false;
        this.failedAt.delete(endpoint);
        return this.client;
      } catch (err) {
        this.failedAt.set(endpoint, Date.now());
        errors.push(`${endpointText(endpoint)}: ${systemErrorText(err as Error)}`);
      }
    }
    throw new Error(`cannot connect to any server (${errors.join('; ')})`);
  }

  private async connectOne(endpoint: StreamEndpoint): Promise<Redis> {
    const { username, password, db, timeoutMs } = this.set;
    // Loaded at the first connection, so that processes without redis: tables never load it.
    const { Redis: RedisClient } = await import('ioredis');
    const redis = new RedisClient({
      ...endpoint,
      username: username === '' ? undefined : username,
      password: password === '' ? undefined : password,
      db,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
    });
    let lastError: Error | undefined;
    redis.on('error', (err: Error) => {
      lastError = err;
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
    });
    try {
      await Promise.race([redis.connect(), deadline]);
      return redis;
    } catch (err) {
      redis.disconnect();
      throw lastError ?? err;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The server set the connection settings of a file describe; where names the file in errors. */
export function redisServerSet(cf: ParamsOf<typeof REDIS_SERVER_PARAMS>, where: string): RedisServerSet {
  if (cf.hosts.length === 0) throw new PetrelError('config', `${where}: hosts is empty`);
  return {
    endpoints: cf.hosts.map((item) => parseRedisHost(item, where)),
    username: cf.username,
    password: cf.password,
    db: cf.db,
    timeoutMs: cf.timeout * 1000,
  };
}
