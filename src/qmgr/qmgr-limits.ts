/*
 * qmgr-limits - per-destination concurrency for qmgr: a counting semaphore
 * per transport and next hop, sized by <transport>_destination_concurrency_limit
 * (else default_destination_concurrency_limit), and the recipient limit per
 * delivery, <transport>_destination_recipient_limit (else
 * default_destination_recipient_limit). 0 means no limit, as in Postfix.
 */
import type { Config } from '../global/config/load-config.js';
import { convertParam } from '../global/config/param-convert.js';

function perTransport(config: Config, transport: string, suffix: string, fallback: number): number {
  const text = config.value(`${transport}_${suffix}`);
  return text === undefined ? fallback : convertParam(`${transport}_${suffix}`, { kind: 'int', default: '', doc: '', min: 0 }, text);
}

/** The most recipients one delivery request to transport may carry (0: no limit). */
export function recipientLimit(config: Config, transport: string): number {
  return perTransport(config, transport, 'destination_recipient_limit', config.params.default_destination_recipient_limit);
}

/** Parallel deliveries per destination, per transport. */
export class DestinationSlots {
  private readonly busy = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(private readonly config: Config) {}

  private limit(transport: string): number {
    return perTransport(this.config, transport, 'destination_concurrency_limit', this.config.params.default_destination_concurrency_limit);
  }

  /** Waits for a free slot for transport/nexthop; call the returned function to give it back. */
  async acquire(transport: string, nexthop: string): Promise<() => void> {
    const key = `${transport}/${nexthop}`;
    const limit = this.limit(transport);
    while (limit > 0 && (this.busy.get(key) ?? 0) >= limit) {
      await new Promise<void>((resolve) => {
        const list = this.waiting.get(key) ?? [];
        list.push(resolve);
        this.waiting.set(key, list);
      });
    }
    this.busy.set(key, (this.busy.get(key) ?? 0) + 1);
    return () => {
      this.busy.set(key, (this.busy.get(key) ?? 1) - 1);
      this.waiting.get(key)?.shift()?.();
    };
  }
}
