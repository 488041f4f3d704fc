/*
 * table-sql-hosts - the `hosts` of a mysql: or pgsql: table and the
 * failover between them: unix:/path (a socket; for pgsql the socket's
 * directory), inet:host[:port], host[:port] and [ipv6]:port. Each host gets
 * its own connection pool, made on first use (no connection is opened
 * before the first lookup). A lookup tries the hosts in the order written,
 * the ones that failed last after the others, so a host that is down costs
 * one failed attempt and is tried again as soon as it is back. Every
 * attempt has a deadline. When no host answers the lookup fails with a
 * temporary error, never "not found". Used by table-mysql.ts and
 * table-pgsql.ts; follows mysql_table(5) and pgsql_table(5) `hosts`
 * (Postfix picks hosts at random, unix: sockets first).
 */
import { PetrelError } from '../errors.js';
import { msg } from '../../util/msg.js';

/** Where one database server listens. */
export type SqlHost =
  | { readonly kind: 'unix'; readonly path: string; readonly label: string }
  | { readonly kind: 'inet'; readonly host: string; readonly port: number | undefined; readonly label: string };

/** Parses one `hosts` item; where names the file in errors. */
export function parseSqlHost(item: string, where: string): SqlHost {
  if (item.startsWith('unix:')) {
    const path = item.slice('unix:'.length);
    if (path === '') throw new PetrelError('config', `${where}: hosts: empty socket path in "${item}"`);
    return { kind: 'unix', path, label: item };
  }
  const rest = item.startsWith('inet:') ? item.slice('inet:'.length) : item;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  const colon = rest.lastIndexOf(':');
  let host: string;
  let portText: string | undefined;
  if (bracketed !== null) {
    host = bracketed[1] as string;
    portText = bracketed[2];
  } else if (colon > 0 && rest.indexOf(':') === colon) {
    host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
  } else {
    host = rest;
  }
  if (host === '') throw new PetrelError('config', `${where}: hosts: no host name in "${item}"`);
  if (portText === undefined) return { kind: 'inet', host, port: undefined, label: item };
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new PetrelError('config', `${where}: hosts: bad port in "${item}"`);
  }
  return { kind: 'inet', host, port, label: item };
}

/** Settles with promise, or rejects after ms with a temporary error naming what; late is called with a value that came too late. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string, late?: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      reject(new PetrelError('table_lookup', `${what}: timed out after ${ms / 1000} s`, { temporary: true }));
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        if (expired) late?.(value);
        else resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (!expired) reject(err);
      },
    );
  });
}

/** One host's state: its pool (made on first use) and when it last failed. */
interface HostState<H, P> {
  readonly host: H;
  pool: P | undefined;
  failedAt: number;
}

/** The hosts of one table and their pools, tried in order with failover. */
export class SqlHostPools<P, H extends { readonly label: string } = SqlHost> {
  private readonly states: HostState<H, P>[];

  constructor(
    hosts: readonly H[],
    /** What the messages call the server ("mysql server"). */
    private readonly serverName: string,
    private readonly makePool: (host: H) => P,
    private readonly endPool: (pool: P) => Promise<void>,
  ) {
    this.states = hosts.map((host) => ({ host, pool: undefined, failedAt: 0 }));
  }

  /** Runs attempt on the first host that answers; throws a temporary PetrelError when none does. */
  async run<T>(attempt: (pool: P, host: H) => Promise<T>): Promise<T> {
    const order = [...this.states].sort((a, b) => (a.failedAt === 0 ? 0 : 1) - (b.failedAt === 0 ? 0 : 1) || a.failedAt - b.failedAt);
    const reasons: string[] = [];
    for (const state of order) {
      state.pool ??= this.makePool(state.host);
      try {
        const result = await attempt(state.pool, state.host);
        state.failedAt = 0;
        return result;
      } catch (err) {
        state.failedAt = Date.now();
        const reason = err instanceof Error ? err.message : String(err);
        msg.warn(`${this.serverName} ${state.host.label}: ${reason}`);
        reasons.push(`${state.host.label}: ${reason}`);
      }
    }
    throw new PetrelError('table_lookup', `no ${this.serverName} answered (${reasons.join('; ')})`, { temporary: true });
  }

  /** Ends every pool made so far. */
  async close(): Promise<void> {
    const pools = this.states.flatMap((state) => (state.pool === undefined ? [] : [state.pool]));
    for (const state of this.states) state.pool = undefined;
    await Promise.all(pools.map((pool) => this.endPool(pool)));
  }
}
