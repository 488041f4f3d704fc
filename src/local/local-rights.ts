/*
 * local-rights - whose rights a local delivery uses. An instance run as
 * root (local is master.cf's one "unpriv n" daemon) writes a user's
 * mailbox, .forward destinations and files with that user's effective uid
 * and gid, and runs that user's commands as that user; aliases' files and
 * commands use default_privs. A development instance, run as its
 * mail_owner, has no one to switch to and does everything as itself.
 * A switch covers a synchronous section of file system calls
 * (global/privileges.ts); only when it holds for the whole process (the
 * thread-ids addon is missing) must a process serve one delivery request
 * at a time (exclusive is true).
 * Follows local(8) "SECURITY".
 */
import type { Account } from '../global/accounts.js';
import { AS_PROCESS, EffectiveUser, type IdentityRunner } from '../global/privileges.js';

/** Runs delivery work with a user's rights. */
export interface UserRights {
  /** False when this process cannot act for account (not root, and account is someone else). */
  canActFor(account: Account): boolean;
  /** Runs the synchronous file system calls of a section with account's access rights. */
  asUser(account: Account): IdentityRunner;
  /** The ids a command for account is started with (undefined: this process's own). */
  commandIds(account: Account): { uid: number; gid: number } | undefined;
  /** True when requests must be served one at a time. */
  readonly exclusive: boolean;
}

/** Rights for an instance that runs everything as one user. */
export const SINGLE_USER: UserRights = {
  canActFor: () => true,
  asUser: () => AS_PROCESS,
  commandIds: () => undefined,
  exclusive: false,
};

/** Rights for local run as root: a switch of effective ids per delivery. */
export function rootRights(): UserRights {
  const effective = new EffectiveUser();
  return {
    canActFor: () => true,
    asUser: (account) => effective.runnerFor(account),
    commandIds: (account) => ({ uid: account.uid, gid: account.gid }),
    exclusive: EffectiveUser.wholeProcess(),
  };
}

/** Rights for local run as an ordinary user that is not mail_owner: only that user's own mail. */
export function ownRights(uid: number): UserRights {
  return { ...SINGLE_USER, canActFor: (account) => account.uid === uid };
}
