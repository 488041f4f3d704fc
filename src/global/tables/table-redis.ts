/*
 * table-redis - redis:/etc/petrel/redis-users.cf, Petrel's own table type
 * (Postfix has none): a key looked up in Redis with GET, or with HGET in the
 * hash named by "hash". The configuration file is in the style of
 * mysql_table(5): hosts (tried in order, a failed one skipped for a minute
 * while another answers), username, password, db, key_format (the Redis
 * key, or the hash field, with %s %u %d %1..%9 of the lookup key), hash,
 * result_format, domain and timeout; see table-expand.ts for the
 * %-expansion and the domain filter. Keys are lower-cased unless postmap -f
 * says otherwise, as Postfix does for its SQL tables. One connection per
 * server set is shared by the process's redis tables, made at the first
 * lookup and made again after the server closed it; ioredis runs without
 * its offline queue or its own reconnection, so a server that is down
 * answers every lookup at once with a temporary PetrelError, never "not
 * found" and never a hang.
 */
import type { Redis } from 'ioredis';
import { PetrelError } from '../errors.js';
import { defineParams } from '../params/param-types.js';
import { endpointText, parseHostPort, systemErrorText, type StreamEndpoint } from '../../util/stream-client.js';
import { SharedResources } from '../../util/shared-resources.js';
import { readTableConfig } from './table-config.js';
import { expandKey, expandResult, openDomainFilter, parseTemplate } from './table-expand.js';
import type { LookupTable, TableOpenContext } from './table.js';

/** The parameters of a redis: configuration file. */
export const REDIS_TABLE_PARAMS = defineParams({
  hosts: { kind: 'list', default: 'localhost', doc: 'Redis servers tried in order: host, host:port, inet:host:port, [address]:port or unix:/path' },
  username: { kind: 'string', default: '', doc: 'ACL user name (Redis 6 and later); empty: the default user' },
  password: { kind: 'string', default: '', doc: 'password sent with AUTH; empty: none' },
  db: { kind: 'int', default: '0', min: 0, doc: 'the database number selected after connecting' },
  key_format: { kind: 'string', default: '%s', doc: 'the Redis key (or hash field) for a lookup key, with %s %u %d %1..%9' },
  hash: { kind: 'string', default: '', doc: 'when set, look the key up as a field of this hash (HGET) instead of GET; %-codes allowed' },
  result_format: { kind: 'string', default: '%s', doc: 'the answer made from the value found, with %s %u %d of the value and %S %U %D %1..%9 of the key' },
  domain: { kind: 'list', default: '', doc: 'when set, only user@domain keys with a domain in this list are looked up' },
  timeout: { kind: 'time', default: '10s', min: 1, doc: 'deadline for connecting and for each command' },
});

const DEFAULT_PORT = 6379;
/** How long a server that failed is skipped while another one answers (Postfix's mysql client waits as long). */
const RETRY_INTERVAL_MS = 60_000;

function parseHost(item: string, where: string): StreamEndpoint {
  if (item.startsWith('unix:') && item.length > 5) return { path: item.slice(5) };
  const inet = item.startsWith('inet:') ? item.slice(5) : item;
  const endpoint = parseHostPort(inet) ?? parseHostPort(`${inet}:${DEFAULT_PORT}`);
  if (endpoint === undefined) throw new PetrelError('config', `${where}: bad hosts item "${item}"`);
  return endpoint;
}

/** How to reach and log into a set of servers. */
interface ServerSet {
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
class RedisServers {
  private client: Redis | undefined;
  /** True once the current client answered a command (a later failure may be a server restart). */
  private used = false;
  private connecting: Promise<Redis> | undefined;
  private readonly failedAt = new Map<StreamEndpoint, number>();
  private closed = false;

  constructor(private readonly set: ServerSet) {}

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
    if (this.closed) return Promise.reject(new Error('the table was closed'));
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
          throw new Error('the table was closed');
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

/** Server sets shared by the process's redis tables. */
const servers = new SharedResources<RedisServers>((shared) => shared.close());

/** Opens redis:/path/to/file.cf; no connection is made before the first lookup. */
export async function openRedis(path: string, spec: string, ctx: TableOpenContext): Promise<LookupTable> {
  const cf = readTableConfig('redis', path, REDIS_TABLE_PARAMS);
  const keyFormat = parseTemplate(cf.key_format, `${path}: key_format`);
  const hash = cf.hash === '' ? undefined : parseTemplate(cf.hash, `${path}: hash`);
  const resultFormat = parseTemplate(cf.result_format, `${path}: result_format`);
  if (cf.hosts.length === 0) throw new PetrelError('config', `${path}: hosts is empty`);
  const set: ServerSet = {
    endpoints: cf.hosts.map((item) => parseHost(item, path)),
    username: cf.username,
    password: cf.password,
    db: cf.db,
    timeoutMs: cf.timeout * 1000,
  };
  const domains = await openDomainFilter(cf.domain, ctx, path);
  const shared = servers.acquire(JSON.stringify(set), () => new RedisServers(set));
  const fold = ctx.foldKeys ?? true;
  return {
    spec,
    pattern: false,
    async lookup(given) {
      const key = fold ? given.toLowerCase() : given;
      if (!(await domains.eligible(key))) return undefined;
      const redisKey = expandKey(keyFormat, key);
      const hashName = hash === undefined ? undefined : expandKey(hash, key);
      if (redisKey === undefined || (hash !== undefined && hashName === undefined)) return undefined;
      let value: string | null;
      try {
        value = await shared.resource.run((redis) => (hashName === undefined ? redis.get(redisKey) : redis.hget(hashName, redisKey)));
      } catch (err) {
        throw new PetrelError('table_lookup', `${spec}: lookup error: ${(err as Error).message}`, { temporary: true, cause: err });
      }
      return value === null ? undefined : expandResult(resultFormat, value, key);
    },
    async close() {
      shared.release();
      await domains.close();
    },
  };
}
