/*
 * privileges - giving up root: for good (a daemon that runs as mail_owner,
 * or a command run as a user) and for the length of one delivery (local
 * writes a mailbox with the recipient's effective uid and gid, then takes
 * root back). An effective-uid switch applies to the whole process, every
 * thread of libuv's pool included, so the switched sections of one process
 * run one at a time.
 */
import type { Account } from './accounts.js';

/** Becomes account for good: supplementary groups, gid, then uid. */
export function dropPrivileges(account: Pick<Account, 'uid' | 'gid'>): void {
  process.setgroups?.([account.gid]);
  process.setgid?.(account.gid);
  process.setuid?.(account.uid);
}

/** Runs sections of code with another effective uid and gid, one section at a time. */
export class EffectiveUser {
  private tail: Promise<unknown> = Promise.resolve();

  /** True when this process can switch (it runs as root). */
  static available(): boolean {
    return process.geteuid?.() === 0;
  }

  /** Runs fn with account's effective ids; root's are restored afterwards, whatever fn did. */
  run<T>(account: Pick<Account, 'uid' | 'gid'>, fn: () => Promise<T>): Promise<T> {
    const section = this.tail.then(async () => {
      process.setgroups?.([account.gid]);
      process.setegid?.(account.gid);
      process.seteuid?.(account.uid);
      try {
        return await fn();
      } finally {
        process.seteuid?.(0);
        process.setegid?.(0);
        process.setgroups?.([0]);
      }
    });
    this.tail = section.catch(() => undefined);
    return section;
  }
}

/** A runner that starts each piece of work after the previous one has settled (a process that switches effective ids serves one request at a time). */
export function oneAtATime(): <T>(fn: () => Promise<T>) => Promise<T> {
  let previous: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const next = previous.then(fn);
    previous = next.catch(() => undefined);
    return next;
  };
}
