/*
 * shared-resources - one resource per key for the whole process, counted by
 * its users: the first acquire creates it, the last release disposes of it.
 * Lets every table of a process that names the same server share one
 * client (stream-client.ts for socketmap: and tcp:, table-redis.ts), as
 * Postfix's dict_sockmap shares its client handles.
 */

/** Resources by key with their user counts. */
export class SharedResources<T> {
  private readonly entries = new Map<string, { resource: T; users: number }>();

  /** dispose: what the last release does to a resource. */
  constructor(private readonly dispose: (resource: T) => void) {}

  /** The resource for key, made by create for its first user; release once when done. */
  acquire(key: string, create: () => T): { resource: T; release(): void } {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { resource: create(), users: 0 };
      this.entries.set(key, entry);
    }
    entry.users++;
    const held = entry;
    let released = false;
    return {
      resource: held.resource,
      release: () => {
        if (released) return;
        released = true;
        if (--held.users > 0) return;
        this.entries.delete(key);
        this.dispose(held.resource);
      },
    };
  }
}
