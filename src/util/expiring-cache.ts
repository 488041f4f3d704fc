/*
 * expiring-cache - the one bounded cache of answers that may be reused for
 * a while: each value lives until its own deadline, a read of a live value
 * makes it the most recently used, and beyond the size limit the least
 * recently used goes first. Time is performance.now() (monotonic), so a
 * clock step never keeps an answer longer. Used by table-cache.ts (table
 * answers), smtpd-check-dns.ts (the restrictions' DNS answers) and
 * smtpd-client-name.ts (client names).
 */

/** Values by key, each until its deadline, at most maxEntries of them. */
export class ExpiringCache<V> {
  private readonly entries = new Map<string, { readonly value: V; readonly until: number }>();

  constructor(private readonly maxEntries: number) {}

  /** The live value of key (now the most recently used), or undefined; an expired one is dropped. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.until <= performance.now()) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Keeps value under key for lifeMs (nothing when lifeMs is not above 0). */
  set(key: string, value: V, lifeMs: number): void {
    this.entries.delete(key);
    if (lifeMs <= 0) return;
    this.entries.set(key, { value, until: performance.now() + lifeMs });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** Drops key when it still holds value (a later answer stays). */
  forget(key: string, value: V): void {
    if (this.entries.get(key)?.value === value) this.entries.delete(key);
  }
}
