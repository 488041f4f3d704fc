/*
 * anvil-counts - the counts the anvil service keeps in its own memory for
 * each client of each service ("service:address", Postfix's ident): its
 * simultaneous connections, and its connection, message, recipient, new
 * TLS session and AUTH rates, each counted over a window of
 * anvil_rate_time_unit that starts at the first event after the last
 * window ended (as Postfix's anvil counts). A client with no connection
 * and no open window is forgotten by sweep(). Also the peak values anvil
 * answered and the "statistics: max ..." lines it logs of them every
 * anvil_status_update_time. Used by anvil-main.ts; the counts shared
 * between hosts are in anvil-redis.ts.
 */
import { msg } from '../util/msg.js';
import { syslogTime } from '../util/time-format.js';

/** The events anvil counts a rate of. */
export type RateName = 'connect' | 'message' | 'recipient' | 'newtls' | 'auth';

interface Window {
  start: number;
  count: number;
}

interface Remote {
  connections: number;
  readonly rates: Partial<Record<RateName, Window>>;
}

/** The counts of every client this host has seen lately. */
export class LocalCounts {
  private readonly remotes = new Map<string, Remote>();

  constructor(
    private readonly unitMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Clients remembered now (Postfix's "cache size"). */
  get size(): number {
    return this.remotes.size;
  }

  /** A new connection of ident: its simultaneous connections and connection rate, this one included. */
  connect(ident: string): { count: number; rate: number } {
    const remote = this.remote(ident);
    remote.connections++;
    return { count: remote.connections, rate: this.add(remote, 'connect') };
  }

  /** A connection of ident ended. */
  disconnect(ident: string): void {
    const remote = this.remotes.get(ident);
    if (remote !== undefined && remote.connections > 0) remote.connections--;
  }

  /** Counts one event of ident; its rate, this one included. */
  event(ident: string, name: RateName): number {
    return this.add(this.remote(ident), name);
  }

  /** The rate of ident's events of name, without counting one. */
  rate(ident: string, name: RateName): number {
    const window = this.remotes.get(ident)?.rates[name];
    return window === undefined || this.expired(window) ? 0 : window.count;
  }

  /** Forgets clients with no connection whose windows have all ended. */
  sweep(): void {
    for (const [ident, remote] of this.remotes) {
      if (remote.connections === 0 && Object.values(remote.rates).every((w) => this.expired(w))) this.remotes.delete(ident);
    }
  }

  private remote(ident: string): Remote {
    let remote = this.remotes.get(ident);
    if (remote === undefined) {
      remote = { connections: 0, rates: {} };
      this.remotes.set(ident, remote);
    }
    return remote;
  }

  private expired(window: Window): boolean {
    return this.now() - window.start >= this.unitMs;
  }

  private add(remote: Remote, name: RateName): number {
    let window = remote.rates[name];
    if (window === undefined || this.expired(window)) {
      window = { start: this.now(), count: 0 };
      remote.rates[name] = window;
    }
    return ++window.count;
  }
}

/** What a statistics line reports: each kind's log text, with "/Ns" for rates. */
const PEAKS = {
  connectRate: { text: 'max connection rate', rate: true },
  connections: { text: 'max connection count', rate: false },
  message: { text: 'max message rate', rate: true },
  recipient: { text: 'max recipient rate', rate: true },
  newtls: { text: 'max new TLS sessions', rate: true },
  auth: { text: 'max AUTH rate', rate: true },
} as const;

/** A peak that statistics lines report. */
export type PeakName = keyof typeof PEAKS;

interface Peak {
  value: number;
  ident: string;
  when: Date;
}

/** The peak counts anvil answered since its last statistics lines. */
export class AnvilStatistics {
  private peaks: Partial<Record<PeakName, Peak>> = {};
  private cache: { value: number; when: Date } | undefined;

  constructor(private readonly unitSeconds: number) {}

  /** Notes a count anvil answered for ident. */
  note(name: PeakName, value: number, ident: string): void {
    const peak = this.peaks[name];
    if (peak === undefined || value > peak.value) this.peaks[name] = { value, ident, when: new Date() };
  }

  /** Notes how many clients anvil remembers. */
  noteCacheSize(value: number): void {
    if (this.cache === undefined || value > this.cache.value) this.cache = { value, when: new Date() };
  }

  /** Logs the peaks seen since the last call, as Postfix's anvil does, and starts over. */
  log(): void {
    for (const [name, { text, rate }] of Object.entries(PEAKS) as [PeakName, (typeof PEAKS)[PeakName]][]) {
      const peak = this.peaks[name];
      if (peak === undefined || peak.value === 0) continue;
      msg.info(`statistics: ${text} ${peak.value}${rate ? `/${this.unitSeconds}s` : ''} for (${peak.ident}) at ${syslogTime(peak.when)}`);
    }
    if (this.cache !== undefined && this.cache.value > 0) msg.info(`statistics: max cache size ${this.cache.value} at ${syslogTime(this.cache.when)}`);
    this.peaks = {};
    this.cache = undefined;
  }
}
