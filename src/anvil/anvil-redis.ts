/*
 * anvil-redis - the client counts several Petrel hosts share through the
 * Redis server(s) of petrel_anvil_redis_server (Petrel's own; Postfix's
 * anvil counts per host only), under petrel_anvil_redis_key_prefix:
 *   count:<ident>    a sorted set with one member per open connection of the
 *                    client on any host, scored by when it lapses: a host
 *                    renews its members every LEASE_MS / 3, so the
 *                    connections of a host that died stop counting within
 *                    LEASE_MS;
 *   <event>:<ident>  a counter that lives anvil_rate_time_unit from its
 *                    first event (a fixed window, as Postfix's anvil counts).
 * Each event is one MULTI transaction. When Redis fails or misses its
 * deadline, anvil answers from the host's own counts (anvil-counts.ts): a
 * warning is logged once, the server is probed every PROBE_MS, and its
 * recovery is logged; the host's open connections are then registered
 * again. The server value is host[:port], unix:/path (with a one-second
 * deadline: a count that takes longer is not worth the client's wait), or
 * the path of a file with the connection settings of a redis: table.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import { splitList } from '../global/config/param-convert.js';
import type { Params } from '../global/params/param-registry.js';
import { REDIS_SERVER_PARAMS, RedisServers, redisServerSet, type RedisServerSet } from '../global/redis-servers.js';
import { readTableConfig } from '../global/tables/table-config.js';
import { endpointText } from '../util/stream-client.js';
import { msg } from '../util/msg.js';
import type { RateName } from './anvil-counts.js';

/** How long a connection counts in Redis without its host renewing it. */
const LEASE_MS = 60_000;
/** How often a server that failed is tried again. */
const PROBE_MS = 5_000;
/** The deadline of each command for a server named in main.cf (a file sets its own "timeout"). */
const INLINE_TIMEOUT_MS = 1_000;

/** The servers petrel_anvil_redis_server names, or undefined when it is empty. */
export function anvilRedisServers(params: Pick<Params, 'petrel_anvil_redis_server'>): RedisServerSet | undefined {
  const value = params.petrel_anvil_redis_server.trim();
  if (value === '') return undefined;
  if (value.startsWith('/')) return redisServerSet(readTableConfig('redis', value, REDIS_SERVER_PARAMS), value);
  const inline = redisServerSet({ hosts: splitList(value), username: '', password: '', db: 0, timeout: 1 }, 'petrel_anvil_redis_server');
  return { ...inline, timeoutMs: INLINE_TIMEOUT_MS };
}

/** The counts this host shares with the others through Redis. */
export class SharedCounts {
  private readonly servers: RedisServers;
  private readonly where: string;
  private up = true;
  private probe: NodeJS.Timeout | undefined;
  /** This host's open connections in Redis: their members by ident. */
  private readonly members = new Map<string, string[]>();
  private readonly instance = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private sequence = 0;
  private readonly renewer: NodeJS.Timeout;

  constructor(
    set: RedisServerSet,
    private readonly prefix: string,
    private readonly unitMs: number,
  ) {
    this.servers = new RedisServers(set);
    this.where = set.endpoints.map(endpointText).join(', ');
    this.renewer = setInterval(() => void this.renew(), LEASE_MS / 3);
    this.renewer.unref();
  }

  /** A new connection of ident, registered in Redis: the simultaneous connections and connection rate of every host, or undefined while Redis is away. */
  async connect(ident: string): Promise<{ count: number; rate: number } | undefined> {
    const member = `${this.instance}:${++this.sequence}`;
    let list = this.members.get(ident);
    if (list === undefined) {
      list = [];
      this.members.set(ident, list);
    }
    list.push(member);
    const now = Date.now();
    const countKey = this.key('count', ident);
    const results = await this.transaction((multi) => this.counted(multi.zremrangebyscore(countKey, '-inf', now).zadd(countKey, now + LEASE_MS, member).pexpire(countKey, LEASE_MS).zcard(countKey), 'connect', ident));
    return results === undefined ? undefined : { count: Number(results[3]), rate: Number(results[5]) };
  }

  /** A connection of ident ended. */
  disconnect(ident: string): void {
    const list = this.members.get(ident);
    const member = list?.pop();
    if (list?.length === 0) this.members.delete(ident);
    if (member !== undefined && this.up) void this.transaction((multi) => multi.zrem(this.key('count', ident), member));
  }

  /** Counts one event of ident on every host; its rate, or undefined while Redis is away. */
  async event(ident: string, name: RateName): Promise<number | undefined> {
    const results = await this.transaction((multi) => this.counted(multi, name, ident));
    return results === undefined ? undefined : Number(results[1]);
  }

  /** The rate of ident's events of name on every host, without counting one; undefined while Redis is away. */
  async rate(ident: string, name: RateName): Promise<number | undefined> {
    const results = await this.transaction((multi) => multi.get(this.key(name, ident)));
    return results === undefined ? undefined : Number(results[0] ?? 0);
  }

  /** Stops renewing and probing, and closes the connection. */
  close(): void {
    clearInterval(this.renewer);
    clearInterval(this.probe);
    this.servers.close();
  }

  private key(kind: string, ident: string): string {
    return `${this.prefix}${kind}:${ident}`;
  }

  /** Adds to multi: start the window of name's counter if none is open, and count one event. */
  private counted(multi: ChainableCommander, name: RateName, ident: string): ChainableCommander {
    const key = this.key(name, ident);
    return multi.set(key, '0', 'PX', this.unitMs, 'NX').incr(key);
  }

  /** Runs one MULTI transaction; its results, or undefined (the host's counts then answer) while Redis is away. */
  private async transaction(build: (multi: ChainableCommander) => ChainableCommander): Promise<unknown[] | undefined> {
    if (!this.up) return undefined;
    try {
      const replies = await this.servers.run((redis) => build(redis.multi()).exec());
      if (replies === null) throw new Error('transaction aborted');
      return replies.map(([err, value]) => {
        if (err !== null) throw err;
        return value;
      });
    } catch (err) {
      this.lost(err as Error);
      return undefined;
    }
  }

  private lost(err: Error): void {
    if (!this.up) return;
    this.up = false;
    msg.warn(`Redis server ${this.where} for shared client counts: ${err.message}; counting on this host only until it answers`);
    this.probe = setInterval(() => void this.tryAgain(), PROBE_MS);
    this.probe.unref();
  }

  private async tryAgain(): Promise<void> {
    try {
      await this.servers.run((redis) => redis.ping());
    } catch {
      return;
    }
    if (this.up) return;
    clearInterval(this.probe);
    this.probe = undefined;
    this.up = true;
    msg.info(`Redis server ${this.where} for shared client counts answers again: client counts are shared again`);
    await this.renew();
  }

  /** Renews this host's connections in Redis (registering again those made while it was away). */
  private async renew(): Promise<void> {
    if (this.members.size === 0) return;
    const lapses = Date.now() + LEASE_MS;
    await this.transaction((multi) => {
      for (const [ident, list] of this.members) {
        const key = this.key('count', ident);
        multi.zadd(key, ...list.flatMap((member) => [lapses, member])).pexpire(key, LEASE_MS);
      }
      return multi;
    });
  }
}
