/*
 * master-service - runs one master.cf service: takes the connections its
 * listeners accept, hands each to the least busy worker process, starts
 * processes on demand (never more than the CPU count, and only when the ones
 * running carry their share of maxproc), keeps at most maxproc connections in
 * service at once (the rest wait, paused), sends wakeup triggers, and
 * throttles a service whose processes die at start-up for
 * service_throttle_time, as Postfix's master(8) does. Used by master-main.ts.
 */
import type { Socket } from 'node:net';
import { msg } from '../util/msg.js';
import { MasterChild, type ChildSpec } from './master-child.js';

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

  constructor(private spec: ServiceSpec) {
    this.startWakeups();
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

  /** Takes a connection a listener accepted. */
  accept(socket: Socket): void {
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

  /** Adopts new settings: running processes finish their work and exit; new work goes to new ones. */
  reload(spec: ServiceSpec): void {
    this.spec = spec;
    for (const child of this.children) child.stop();
    this.stopWakeups();
    this.startWakeups();
    this.drain();
  }

  /** Stops taking work and asks every process to exit; resolves when all have. */
  async stop(graceSeconds: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.healTimer);
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

  private drain(): void {
    while (this.waiting.length > 0) {
      if (this.spec.maxproc > 0 && this.active >= this.spec.maxproc) return;
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
      if (child.usable && (best === undefined || child.active < best.active)) best = child;
    }
    const full = best === undefined || best.active >= this.perProcessShare;
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
    child.on('ready', () => this.drain());
    child.on('slot', () => this.drain());
    child.on('retire', () => this.drain());
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
    if (this.spec.wakeup > 0 && this.usableCount() === 0) this.spawn();
    this.drain();
  }

  private throttle(entry: string): void {
    msg.warn(`${entry}: bad command startup -- throttling`);
    this.throttledUntil = Date.now() + this.spec.throttleTime * 1000;
    clearTimeout(this.throttleTimer);
    this.throttleTimer = setTimeout(() => {
      this.throttledUntil = 0;
      if (this.spec.wakeup > 0 && this.usableCount() === 0) this.spawn();
      this.drain();
    }, this.spec.throttleTime * 1000);
  }

  /** Trigger services are resident: one process from the start, woken every `wakeup` seconds. */
  private startWakeups(): void {
    if (this.spec.wakeup <= 0) return;
    if (this.usableCount() === 0) this.spawn();
    this.wakeupTimer = setInterval(() => {
      for (const child of this.children) if (child.usable) child.wakeup();
    }, this.spec.wakeup * 1000);
  }

  private stopWakeups(): void {
    clearInterval(this.wakeupTimer);
    this.wakeupTimer = undefined;
  }
}
