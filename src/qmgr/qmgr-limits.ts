/*
 * qmgr-limits - qmgr's per-destination scheduling: parallel deliveries per
 * transport and next hop with slow start, dead destinations and rate delay
 * (DestinationSlots), and the recipient limit per delivery,
 * <transport>_destination_recipient_limit (else
 * default_destination_recipient_limit). 0 means no limit, as in Postfix.
 */
import type { Config } from '../global/config/load-config.js';
import { perServiceValue } from '../global/config/per-service-params.js';

/** The most recipients one delivery request to transport may carry (0: no limit). */
export function recipientLimit(config: Config, transport: string): number {
  return perServiceValue(config, transport, 'destination_recipient_limit', config.params.default_destination_recipient_limit);
}

/** How one delivery to a destination went, for the scheduler. */
export type DeliveryFeedback = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Gives a slot back, with how the delivery in it went. */
export type Release = (feedback: DeliveryFeedback) => void;

interface Destination {
  busy: number;
  /** The parallel deliveries allowed now: from initial_destination_concurrency up to the limit. */
  window: number;
  /** Failed deliveries in a row. */
  failures: number;
  /** Until when the destination is dead, and why. */
  deadUntil: number;
  deadReason: string;
  /** When the last delivery started (for the rate delay). */
  lastStart: number;
  /**
   * Deliveries waiting for a slot, by message, in the order the messages
   * began to wait (a message queues its deliveries to a destination
   * together): each is called with no argument to take a slot, or with the
   * reason the destination died meanwhile.
   */
  readonly waiting: Map<string, ((dead?: string) => void)[]>;
  /** Running deliveries per message. */
  readonly running: Map<string, number>;
}

/** The deliveries dest may run at once now: its slow-start window within the transport's limit (0: no limit). */
function capacity(dest: Destination, limit: number): number {
  return limit > 0 ? Math.min(limit, dest.window) : Infinity;
}

/**
 * Parallel deliveries per destination (transport and next hop), the way
 * Postfix's queue manager schedules them: a destination starts at
 * initial_destination_concurrency and gains one parallel delivery per
 * success up to <transport>_destination_concurrency_limit, loses one per
 * failure, and after <transport>_destination_concurrency_failed_cohort_limit
 * failures in a row is dead for minimal_backoff_time: its mail is deferred
 * ("delivery temporarily suspended") without a delivery attempt, unless a
 * flush revives it. Free slots go to the waiting message with the fewest
 * deliveries running, so a large mailing and small messages share a
 * destination fairly.
 * <transport>_destination_rate_delay spaces deliveries and allows one at a
 * time.
 */
export class DestinationSlots {
  private readonly destinations = new Map<string, Destination>();

  constructor(private readonly config: Config) {}

  private limit(transport: string): number {
    if (this.rateDelay(transport) > 0) return 1;
    return perServiceValue(this.config, transport, 'destination_concurrency_limit', this.config.params.default_destination_concurrency_limit);
  }

  private rateDelay(transport: string): number {
    return perServiceValue(this.config, transport, 'destination_rate_delay', this.config.params.default_destination_rate_delay) * 1000;
  }

  private cohortLimit(transport: string): number {
    return perServiceValue(this.config, transport, 'destination_concurrency_failed_cohort_limit', this.config.params.default_destination_concurrency_failed_cohort_limit);
  }

  private destination(key: string, transport: string): Destination {
    let dest = this.destinations.get(key);
    if (dest === undefined) {
      const limit = this.limit(transport);
      const initial = this.config.params.initial_destination_concurrency;
      dest = { busy: 0, window: limit > 0 ? Math.min(limit, initial) : initial, failures: 0, deadUntil: 0, deadReason: '', lastStart: 0, waiting: new Map(), running: new Map() };
      this.destinations.set(key, dest);
    }
    return dest;
  }

  /** Forgets every dead destination (postqueue -f, -i and -s: the administrator wants them tried now). */
  reviveAll(): void {
    for (const dest of this.destinations.values()) {
      dest.deadUntil = 0;
      dest.failures = 0;
    }
  }

  /** Why transport/nexthop is dead now, or undefined when it may be tried. */
  dead(transport: string, nexthop: string): string | undefined {
    const dest = this.destinations.get(`${transport}/${nexthop}`);
    return dest !== undefined && dest.deadUntil > Date.now() ? dest.deadReason : undefined;
  }

  /**
   * Wakes the oldest waiting delivery of the message with the fewest
   * deliveries running here (the message that began to wait first among
   * equals).
   * The scan stops at the first message with none running, so it passes
   * at most as many messages as the destination has deliveries running.
   */
  private wakeFairest(dest: Destination): void {
    let best: string | undefined;
    let fewest = Infinity;
    for (const message of dest.waiting.keys()) {
      const running = dest.running.get(message) ?? 0;
      if (running < fewest) {
        fewest = running;
        best = message;
        if (running === 0) break;
      }
    }
    if (best === undefined) return;
    const queue = dest.waiting.get(best) as ((dead?: string) => void)[];
    const wake = queue.shift();
    if (queue.length === 0) dest.waiting.delete(best);
    wake?.();
  }

  /**
   * Asks for a slot for transport/nexthop for a delivery of message:
   * onSlot gets the function that gives the slot back, to be called with
   * how the delivery went, once the slot is free (and the transport's rate
   * delay has passed); never synchronously, but from a microtask, or from
   * a timer after the rate delay. onSlot must not throw: nothing would
   * catch it there, and the slot would never be given back. A waiting delivery is
   * onSlot in its destination's queue, handed the slot by the release that
   * frees it. Free slots go round the messages waiting for them, so one
   * message with many recipients does not hold up the others. A delivery
   * still waiting when the destination is marked dead gets onDead with the
   * reason instead (from a microtask, and it must not throw either): its
   * mail is deferred without a delivery attempt, as Postfix does.
   */
  request(transport: string, nexthop: string, message: string, onSlot: (release: Release) => void, onDead: (reason: string) => void): void {
    const dest = this.destination(`${transport}/${nexthop}`, transport);
    const limit = this.limit(transport);
    const grant = (dead?: string): void => {
      if (dead === undefined) this.start(dest, transport, message, limit, onSlot);
      else queueMicrotask(() => onDead(dead));
    };
    if (dest.busy < capacity(dest, limit)) {
      grant();
      return;
    }
    const queue = dest.waiting.get(message);
    if (queue === undefined) dest.waiting.set(message, [grant]);
    else queue.push(grant);
  }

  /** request() as a promise of the slot's release, rejected with the reason when the destination dies while it waits. */
  acquire(transport: string, nexthop: string, message = ''): Promise<Release> {
    return new Promise((resolve, reject) => this.request(transport, nexthop, message, resolve, (reason) => reject(new Error(reason))));
  }

  /** Takes a slot of dest at once for a delivery of message (held through the rate delay, so rate-delayed deliveries go one at a time) and hands onSlot its release after the transport's rate delay. */
  private start(dest: Destination, transport: string, message: string, limit: number, onSlot: (release: Release) => void): void {
    dest.busy++;
    dest.running.set(message, (dest.running.get(message) ?? 0) + 1);
    const release = this.releaser(dest, transport, message, limit);
    const delay = this.rateDelay(transport);
    const wait = delay > 0 ? dest.lastStart + delay - Date.now() : 0;
    if (wait <= 0) {
      dest.lastStart = Date.now();
      // Never from inside request() or another delivery's release: the caller finishes first.
      queueMicrotask(() => onSlot(release));
      return;
    }
    setTimeout(() => {
      dest.lastStart = Date.now();
      onSlot(release);
    }, wait);
  }

  /** The function that gives a slot of dest back with how its delivery went, and hands the slots now free to waiting deliveries. */
  private releaser(dest: Destination, transport: string, message: string, limit: number): Release {
    return (feedback) => {
      dest.busy--;
      const running = (dest.running.get(message) ?? 1) - 1;
      if (running > 0) dest.running.set(message, running);
      else dest.running.delete(message);
      if (feedback.ok) {
        dest.failures = 0;
        dest.window = limit > 0 ? Math.min(limit, dest.window + 1) : dest.window + 1;
      } else {
        dest.failures++;
        dest.window = Math.max(1, dest.window - 1);
        const cohorts = this.cohortLimit(transport);
        if (cohorts > 0 && dest.failures >= cohorts) {
          dest.deadUntil = Date.now() + this.config.params.minimal_backoff_time * 1000;
          dest.deadReason = feedback.reason;
          const waiting = [...dest.waiting.values()];
          dest.waiting.clear();
          for (const queue of waiting) for (const grant of queue) grant(feedback.reason);
        }
      }
      const free = Math.max(0, capacity(dest, limit) - dest.busy);
      for (let i = 0; i < free && dest.waiting.size > 0; i++) this.wakeFairest(dest);
    };
  }
}
