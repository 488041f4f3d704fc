/*
 * anvil - the connection and rate counting service (anvil(8)): one
 * process per instance, so that every smtpd process of the instance
 * counts together; as in Postfix it is started when a first client
 * connects and exits after max_idle seconds without one (or after
 * max_use clients), so an instance whose limits apply to nobody runs none. Each smtpd process keeps one connection to
 * private/anvil (anvil-clnt.ts) and sends the events of its clients; anvil
 * answers counts from its own memory (anvil-counts.ts) or, with
 * petrel_anvil_redis_server, from the counts every Petrel host shares in
 * Redis (anvil-redis.ts), falling back to its own when Redis is away. The
 * connections an smtpd process registered stop counting when its
 * connection to anvil ends (it exited or died). Logs Postfix's
 * "statistics: max ..." lines every anvil_status_update_time and at exit.
 */
import type { Socket } from 'node:net';
import type { AnvilReply, AnvilRequest } from '../global/anvil-clnt.js';
import type { Params } from '../global/params/param-registry.js';
import { runDaemon } from '../master/skeleton.js';
import { FramedConnection } from '../util/ipc-frame.js';
import { msg } from '../util/msg.js';
import { AnvilStatistics, LocalCounts, type PeakName, type RateName } from './anvil-counts.js';
import { anvilRedisServers, SharedCounts } from './anvil-redis.js';

/** How often a connection's reader looks whether the process is finishing. */
const READ_SLICE_MS = 1000;

/** The rate each counting request adds to, and the peak it reports. */
const EVENTS: Readonly<Record<Exclude<AnvilRequest['request'], 'connect' | 'disconnect' | 'newtls_status'>, { rate: RateName; peak: PeakName }>> = {
  message: { rate: 'message', peak: 'message' },
  recipient: { rate: 'recipient', peak: 'recipient' },
  newtls: { rate: 'newtls', peak: 'newtls' },
  auth: { rate: 'auth', peak: 'auth' },
};

/** The counts of the whole process. */
class Anvil {
  readonly local: LocalCounts;
  readonly statistics: AnvilStatistics;
  readonly shared: SharedCounts | undefined;
  private readonly timers: NodeJS.Timeout[];

  constructor(params: Params) {
    this.local = new LocalCounts(params.anvil_rate_time_unit * 1000);
    this.statistics = new AnvilStatistics(params.anvil_rate_time_unit);
    const servers = anvilRedisServers(params);
    this.shared = servers === undefined ? undefined : new SharedCounts(servers, params.petrel_anvil_redis_key_prefix, params.anvil_rate_time_unit * 1000);
    this.timers = [setInterval(() => this.local.sweep(), params.anvil_rate_time_unit * 1000), setInterval(() => this.statistics.log(), params.anvil_status_update_time * 1000)];
    for (const timer of this.timers) timer.unref();
  }

  /** Answers one request (a disconnect has no answer). */
  async answer(request: AnvilRequest): Promise<AnvilReply | undefined> {
    const ident = `${request.service}:${request.address}`;
    const { id } = request;
    switch (request.request) {
      case 'connect': {
        const local = this.local.connect(ident);
        this.statistics.noteCacheSize(this.local.size);
        const counts = (await this.shared?.connect(ident)) ?? local;
        this.statistics.note('connections', counts.count, ident);
        this.statistics.note('connectRate', counts.rate, ident);
        return { id, ...counts };
      }
      case 'disconnect':
        this.local.disconnect(ident);
        this.shared?.disconnect(ident);
        return undefined;
      case 'newtls_status': {
        const local = this.local.rate(ident, 'newtls');
        return { id, count: 0, rate: (await this.shared?.rate(ident, 'newtls')) ?? local };
      }
      default: {
        const event = EVENTS[request.request];
        const local = this.local.event(ident, event.rate);
        this.statistics.noteCacheSize(this.local.size);
        const rate = (await this.shared?.event(ident, event.rate)) ?? local;
        this.statistics.note(event.peak, rate, ident);
        return { id, count: 0, rate };
      }
    }
  }

  close(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.statistics.log();
    this.shared?.close();
  }
}

let anvil: Anvil | undefined;

/** Serves one smtpd process until it goes away; its clients' connections then stop counting. */
async function serve(socket: Socket, counts: Anvil, retiring: () => boolean): Promise<void> {
  const conn = new FramedConnection(socket);
  const open: { service: string; address: string }[] = [];
  try {
    while (!retiring()) {
      let frame;
      try {
        frame = await conn.next(READ_SLICE_MS);
      } catch {
        if (conn.open) continue;
        return;
      }
      if (frame === undefined) return;
      const request = JSON.parse(frame.payload.toString('utf8')) as AnvilRequest;
      if (request.request === 'connect') open.push({ service: request.service, address: request.address });
      if (request.request === 'disconnect') {
        const at = open.findIndex((c) => c.service === request.service && c.address === request.address);
        // A connection anvil never saw (made before anvil restarted) is not taken off anyone's count.
        if (at < 0) continue;
        open.splice(at, 1);
      }
      counts.answer(request).then(
        (reply) => (reply === undefined ? undefined : conn.sendJson(reply)),
        (err: unknown) => msg.warn(`${request.request} ${request.service}:${request.address}: ${(err as Error).message}`),
      ).catch(() => undefined);
    }
  } finally {
    for (const { service, address } of open) void counts.answer({ id: 0, request: 'disconnect', service, address });
    conn.close();
  }
}

runDaemon({
  name: 'anvil',
  postInit({ config }) {
    anvil = new Anvil(config.params);
  },
  onConnection: (socket, { retiring }) => serve(socket, anvil as Anvil, retiring),
  onExit() {
    anvil?.close();
  },
});
