/*
 * privileges - giving up root: for good (a daemon that runs as mail_owner,
 * or a command run as a user) and for the length of one synchronous section
 * (local and virtual create, rename and lock a mailbox's files with the
 * recipient's effective uid and gid, then take root back). Only system calls
 * made synchronously in the section run with the recipient's ids: writes and
 * fsyncs on the descriptors it opened happen afterwards, as root, which the
 * kernel does not ask about. With util/thread-ids.ts's addon only the main
 * thread switches, so other deliveries' work in libuv's pool is untouched
 * and one process can run many deliveries side by side; without it glibc
 * switches the whole process, and callers serialise (wholeProcess).
 */
import type { Account } from './accounts.js';
import { ID_SWITCH } from '../util/thread-ids.js';

/** Becomes account for good: supplementary groups, gid, then uid. */
export function dropPrivileges(account: Pick<Account, 'uid' | 'gid'>): void {
  process.setgroups?.([account.gid]);
  process.setgid?.(account.gid);
  process.setuid?.(account.uid);
}

/** Runs a synchronous section of file system calls with some ids (an EffectiveUser bound to an account, or the process's own). */
export type IdentityRunner = <T>(fn: () => T) => T;

/** Runs a section with the process's own ids. */
export const AS_PROCESS: IdentityRunner = (fn) => fn();

/**
 * Runs synchronous sections of code with another effective uid and gid.
 * The process gives up root's supplementary groups once, when the first
 * switcher is made: a section then needs only the effective gid and uid
 * (with the account's gid as its one group, as Postfix's set_eugid gives).
 */
export class EffectiveUser {
  constructor() {
    process.setgroups?.([]);
  }

  /** True when this process can switch (it runs as root). */
  static available(): boolean {
    return process.geteuid?.() === 0;
  }

  /** True when a switch holds for the whole process (no thread-ids addon): its deliveries must run one at a time. */
  static wholeProcess(): boolean {
    return !ID_SWITCH.perThread;
  }

  /** Why switches hold for the whole process, when they do (for a start-up warning). */
  static wholeProcessReason(): string | undefined {
    return ID_SWITCH.problem;
  }

  /** Runs fn, which must be synchronous, with account's effective ids; root's are restored afterwards, whatever fn did. */
  run<T>(account: Pick<Account, 'uid' | 'gid'>, fn: () => T): T {
    if (account.uid === 0 && account.gid === 0) return fn();
    ID_SWITCH.setEgid(account.gid);
    ID_SWITCH.setEuid(account.uid);
    try {
      const result = fn();
      if (result instanceof Promise) throw new Error('EffectiveUser.run: the section must be synchronous');
      return result;
    } finally {
      ID_SWITCH.setEuid(0);
      ID_SWITCH.setEgid(0);
    }
  }

  /** A runner for account's sections. */
  runnerFor(account: Pick<Account, 'uid' | 'gid'>): IdentityRunner {
    return (fn) => this.run(account, fn);
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
