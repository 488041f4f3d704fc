/*
 * master-service - runs one master.cf service, in one of two ways.
 * An accepting service (inet services, and the resident trigger service
 * qmgr) has its bound sockets sent to every worker process,
 * which accepts on them itself: the master is never in the path of a
 * connection. It keeps one process running (it cannot see a waiting
 * connection without accepting it), starts another while every running one
 * says it is busy (never more than the CPU count), and gives each process
 * its share of maxproc as a connection limit. For the other services the
 * master accepts each connection and hands it to the least busy worker,
 * starting processes on demand (only when the ones running carry their
 * share of maxproc) and keeping at most maxproc connections in service at
 * once (the rest wait, paused): their clients keep connections for the next
 * request (ipc-pool.ts), so few go through the master; pickup is one of
 * these, started when triggered or when its wakeup finds work in maildrop/,
 * and anvil, whose one process takes every connection (maxproc 1 counts
 * the process there, not its connections).
 * Both send wakeup triggers and throttle a service whose processes die at start-up for
 * service_throttle_time, as Postfix's master(8) does. Used by master-main.ts.
 */
import type { Server, Socket } from 'node:net';
import { listQueue } from '../global/queue/queue-move.js';
import type { MessageQueue } from '../global/queue/queue-paths.js';
import { acceptOn } from '../util/listen-handle.js';
import { msg } from '../util/msg.js';
import { MasterChild, type ChildSpec } from './master-child.js';
import type { Listener } from './master-listen.js';

/** One service as the master runs it. */
export interface ServiceSpec {
  /** "name/type" as postconf -M names it, for logs and reload matching. */
  readonly key: string;
  /** The most connections served at once; 0 means no limit. */
  readonly maxproc: number;
  /** Seconds between wakeup triggers; 0 for none. */
  readonly wakeup: number;
  /** The most worker processes. */
  readonly processCap: number;
  /** Seconds to pause a service whose processes fail at start-up. */
  readonly throttleTime: number;
  /** Workers accept on the listeners themselves (else the master accepts and hands each connection over); so for a resident service with wakeup. */
  readonly accepting: boolean;
  /** A trigger daemon run on demand: the queue folder whose files are its work (a wakeup finding none starts nothing). */
  readonly workQueue?: { readonly queueDirectory: string; readonly queue: MessageQueue };
  /** One process serves every client the master hands over, without a connection limit (anvil: its counts are shared by all). */
  readonly single: boolean;
  readonly child: ChildSpec;
}

/** The connection share a process carries before another one is started, when maxproc is 0. */
const UNLIMITED_SHARE = 100;

/** The runtime state of one service. */
export class MasterService {
  private readonly children = new Set<MasterChild>();
  private readonly waiting: Socket[] = [];
  private throttledUntil = 0;
  private throttleTimer: NodeJS.Timeout | undefined;
  private wakeupTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  private readonly healTimer: NodeJS.Timeout;
  /** The master's own servers on the listeners of a service it hands connections over for. */
  private readonly servers: Server[] = [];
  private settleStart: () => void = () => undefined;
  /** Resolves once connections are taken: at once when the master accepts, else when a worker accepts (or could not start). */
  readonly started: Promise<void>;

  /** Takes ownership of the bound listeners: they are closed when the service stops. */
  constructor(
    private spec: ServiceSpec,
    private readonly listeners: readonly Listener[],
  ) {
    this.started = new Promise((resolve) => {
      this.settleStart = resolve;
    });
    if (!spec.accepting || listeners.length === 0) this.settleStart();
    if (!spec.accepting) {
      for (const { handle, backlog } of listeners) {
        const server = acceptOn(handle, backlog, (socket) => this.accept(socket));
        server.on('error', (err) => msg.warn(`service ${spec.key}: accept: ${err.message}`));
        this.servers.push(server);
      }
    }
    this.startWakeups();
    this.keepAccepting();
    // Connections must never wait for an event that was missed: look at the waiting ones every second.
    this.healTimer = setInterval(() => {
      if (this.waiting.length > 0) this.drain();
    }, 1000);
  }

  get key(): string {
    return this.spec.key;
  }

  /** Live worker processes, for status and tests. */
  get processes(): readonly MasterChild[] {
    return [...this.children];
  }

  /** Connections being served now. */
  get active(): number {
    let total = 0;
    for (const child of this.children) total += child.active;
    return total;
  }

  /** Takes a connection the master's own server accepted. */
  private accept(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    socket.pause();
    this.waiting.push(socket);
    socket.once('close', () => {
      const at = this.waiting.indexOf(socket);
      if (at >= 0) this.waiting.splice(at, 1);
    });
    this.drain();
  }

  /** Adopts new settings and lifts a throttle: running processes finish their work and exit; new work goes to new ones. */
  reload(spec: ServiceSpec): void {
    this.spec = spec;
    // A reload is how an administrator says the configuration is fixed: a throttled service starts again at once, as in Postfix.
    this.throttledUntil = 0;
    clearTimeout(this.throttleTimer);
    for (const child of this.children) child.stop();
    this.stopWakeups();
    this.startWakeups();
    this.keepAccepting();
    this.drain();
  }

  /** Stops taking work and asks every process to exit; resolves when all have. */
  async stop(graceSeconds: number): Promise<void> {
    this.stopping = true;
    this.settleStart();
    clearInterval(this.healTimer);
    // The workers keep their own copies of the sockets until they exit.
    if (this.spec.accepting) for (const { handle } of this.listeners) handle.close();
    for (const server of this.servers.splice(0)) server.close();
    this.stopWakeups();
    clearTimeout(this.throttleTimer);
    for (const socket of this.waiting.splice(0)) socket.destroy();
    const exits = [...this.children].map((child) => new Promise((resolve) => child.once('exit', resolve)));
    for (const child of this.children) child.stop();
    const killer = setTimeout(() => {
      for (const child of this.children) child.kill();
    }, graceSeconds * 1000);
    await Promise.all(exits);
    clearTimeout(killer);
  }

  private get perProcessShare(): number {
    const limit = this.spec.maxproc > 0 ? this.spec.maxproc : UNLIMITED_SHARE * this.spec.processCap;
    return Math.max(1, Math.ceil(limit / this.spec.processCap));
  }

  /**
   * An accepting service keeps one process running, and starts another
   * while every running one is busy, up to the process cap.
   */
  private keepAccepting(): void {
    if (!this.spec.accepting || this.stopping || Date.now() < this.throttledUntil) return;
    let usable = 0;
    let allBusy = true;
    for (const child of this.children) {
      if (child.retiring) continue;
      // One start at a time: a process still starting will take its share.
      if (!child.ready) return;
      usable++;
      if (!child.busy) allBusy = false;
    }
    if (usable === 0 || (allBusy && usable < this.spec.processCap)) this.spawn();
  }

  /** What an accepting worker may serve at once: its share of maxproc, or no limit for trigger services. */
  private get connectionLimit(): number {
    return this.spec.wakeup > 0 || this.spec.maxproc === 0 ? 0 : this.perProcessShare;
  }

  private drain(): void {
    if (this.spec.accepting) return;
    while (this.waiting.length > 0) {
      if (this.spec.maxproc > 0 && !this.spec.single && this.active >= this.spec.maxproc) return;
      const child = this.pickChild();
      if (child === undefined) return;
      const socket = this.waiting.shift() as Socket;
      child.give(socket);
    }
  }

  /** The least busy usable process, starting another when all carry their share. */
  private pickChild(): MasterChild | undefined {
    let best: MasterChild | undefined;
    let starting = false;
    for (const child of this.children) {
      if (!child.ready && !child.retiring) starting = true;
      if (child.usable && child.active < child.connectionLimit && (best === undefined || child.active < best.active)) best = child;
    }
    const full = best === undefined || best.active >= Math.min(this.perProcessShare, best.connectionLimit);
    if (full && !starting && this.usableCount() < this.spec.processCap) this.spawn();
    return best;
  }

  private usableCount(): number {
    let count = 0;
    for (const child of this.children) if (!child.retiring) count++;
    return count;
  }

  private spawn(): MasterChild | undefined {
    if (this.stopping || Date.now() < this.throttledUntil) return undefined;
    const child = new MasterChild(this.spec.child);
    this.children.add(child);
    if (this.spec.accepting) child.listen(this.listeners, this.connectionLimit);
    child.on('ready', () => {
      this.settleStart();
      this.drain();
    });
    child.on('slot', () => this.drain());
    child.on('load', () => this.keepAccepting());
    child.on('relisten', () => {
      if (child.usable) child.listen(this.listeners, this.connectionLimit);
    });
    child.on('retire', (reason: string) => this.onRetire(child, reason));
    child.on('exit', (code: number | null, signal: string | null, servedAny: boolean) =>
      this.onExit(child, code, signal, servedAny),
    );
    return child;
  }

  private onExit(child: MasterChild, code: number | null, signal: string | null, servedAny: boolean): void {
    this.children.delete(child);
    const entry = this.spec.child.entry;
    const clean = code === 0 || (child.retiring && signal === 'SIGKILL' && this.stopping);
    if (!clean) {
      msg.warn(
        signal !== null
          ? `process ${entry} pid ${child.pid} killed by signal ${signal}`
          : `process ${entry} pid ${child.pid} exit status ${code}`,
      );
    }
    if (!clean && !servedAny && !child.ready && !this.stopping) this.throttle(entry);
    if (this.stopping) return;
    this.keepAccepting();
    this.drain();
  }

  /** A worker retiring on its own: let it go, unless it is the last accepting process and only idle. */
  private onRetire(child: MasterChild, reason: string): void {
    if (this.spec.accepting && reason === 'max_idle' && !this.stopping && child.usable && this.usableCount() === 1) {
      child.stay();
      return;
    }
    child.stop();
    this.keepAccepting();
    this.drain();
  }

  private throttle(entry: string): void {
    msg.warn(`${entry}: bad command startup -- throttling`);
    this.settleStart();
    this.throttledUntil = Date.now() + this.spec.throttleTime * 1000;
    clearTimeout(this.throttleTimer);
    this.throttleTimer = setTimeout(() => {
      this.throttledUntil = 0;
      this.keepAccepting();
      this.drain();
    }, this.spec.throttleTime * 1000);
  }

  /**
   * Trigger services are woken every `wakeup` seconds: a resident one
   * (accepting, so keepAccepting starts its process) always; one run on
   * demand only when its work queue has a file, which starts its process if
   * none runs (checked at once as well, for files left from before).
   */
  private startWakeups(): void {
    if (this.spec.wakeup <= 0) return;
    const wake = (): void => {
      for (const child of this.children) if (child.usable) child.wakeup();
    };
    const work = this.spec.workQueue;
    if (work === undefined) {
      this.wakeupTimer = setInterval(wake, this.spec.wakeup * 1000);
      return;
    }
    const wakeIfWork = async (): Promise<void> => {
      if ((await listQueue(work.queueDirectory, work.queue)).length === 0 || this.stopping) return;
      if (this.usableCount() === 0) this.spawn();
      else wake();
    };
    const check = (): void => {
      wakeIfWork().catch((err: unknown) => msg.warn(`service ${this.spec.key}: ${work.queue}: ${(err as Error).message}`));
    };
    this.wakeupTimer = setInterval(check, this.spec.wakeup * 1000);
    check();
  }

  private stopWakeups(): void {
    clearInterval(this.wakeupTimer);
    this.wakeupTimer = undefined;
  }
}
