/*
 * verify-service - what the verify service (verify(8)) decides, over its
 * status cache (verify-cache.ts): a query answers the address's status
 * and asks for a probe when none is known or the known one is due for a
 * refresh (address_verify_positive_refresh_time, _negative_refresh_time),
 * unless a probe for it is still pending (PROBE_TTL_MS); an answer past
 * its expiry (address_verify_positive_expire_time, _negative_expire_time)
 * is no answer. An update records a probe's result; a failed probe never
 * replaces a deliverable status that has not expired (Postfix's optimistic
 * caching), and with address_verify_negative_cache = no an undeliverable
 * result is not kept. cleanup() removes expired entries. Used by
 * verify-main.ts, which sends the probes.
 */
import type { Params } from '../global/params/param-registry.js';
import type { AddressStatus, VerifyReply } from '../global/verify-clnt.js';
import { msg } from '../util/msg.js';
import type { StatusCache, StatusEntry } from './verify-cache.js';

/** How long a probe is waited for before another one may be sent for the same address (Postfix's figure). */
export const PROBE_TTL_MS = 1000 * 1000;

/** The text of a status nobody has reported yet. */
const IN_PROGRESS = 'Address verification in progress';

/** What the service reads of the configuration. */
export type VerifyServiceParams = Pick<
  Params,
  'address_verify_positive_expire_time' | 'address_verify_positive_refresh_time' | 'address_verify_negative_cache' | 'address_verify_negative_expire_time' | 'address_verify_negative_refresh_time'
>;

/** The verify service's decisions; sendProbe queues a probe for an address and resolves false when it could not. */
export class VerifyService {
  constructor(
    private readonly params: VerifyServiceParams,
    private readonly store: StatusCache,
    private readonly sendProbe: (address: string) => Promise<boolean>,
  ) {}

  /** True when entry's answer is too old to use. */
  private expired(entry: StatusEntry, now: number): boolean {
    if (entry.updated === 0) return entry.probed !== 0 && entry.probed + PROBE_TTL_MS < now;
    const lifetime = entry.status === 'ok' ? this.params.address_verify_positive_expire_time : this.params.address_verify_negative_expire_time;
    return entry.updated + lifetime * 1000 < now;
  }

  /** True when a new probe is due for entry. */
  private probeDue(entry: StatusEntry, now: number): boolean {
    if (entry.probed !== 0 && entry.probed + PROBE_TTL_MS > now) return false;
    if (entry.updated === 0) return true;
    const refresh = entry.status === 'ok' ? this.params.address_verify_positive_refresh_time : this.params.address_verify_negative_refresh_time;
    return entry.updated + refresh * 1000 < now;
  }

  /** The status of address; a probe is sent when one is due. */
  async query(address: string, now = Date.now()): Promise<VerifyReply> {
    const key = address.toLowerCase();
    const stored = this.store.get(key);
    let entry: StatusEntry = stored !== undefined && !this.expired(stored, now) ? stored : { status: 'todo', probed: 0, updated: 0, text: IN_PROGRESS };
    if (this.probeDue(entry, now)) {
      entry = { ...entry, probed: now };
      await this.store.put(key, entry);
      // The answer does not wait for the probe; one that could not be queued is no longer pending.
      void this.sendProbe(address)
        .then(async (sent) => {
          const current = this.store.get(key);
          if (!sent && current !== undefined) await this.store.put(key, { ...current, probed: 0 });
        })
        .catch((err: unknown) => msg.warn(`<${address}>: ${(err as Error).message}`));
    }
    return { status: entry.status, text: entry.text };
  }

  /** Records a probe's result for address. */
  async update(address: string, status: Exclude<AddressStatus, 'todo'>, text: string, now = Date.now()): Promise<void> {
    const key = address.toLowerCase();
    const stored = this.store.get(key);
    if (status !== 'ok' && stored?.status === 'ok' && !this.expired(stored, now)) {
      await this.store.put(key, { ...stored, probed: 0 });
      return;
    }
    if (status !== 'ok' && !this.params.address_verify_negative_cache) {
      await this.store.remove(key);
      return;
    }
    await this.store.put(key, { status, probed: 0, updated: now, text });
  }

  /** Removes the expired (and unreadable) entries; how many went. */
  async cleanup(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const [key, entry] of this.store.entries()) {
      if (entry !== undefined && !this.expired(entry, now)) continue;
      await this.store.remove(key);
      removed++;
    }
    return removed;
  }
}
