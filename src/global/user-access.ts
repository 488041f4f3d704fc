/*
 * user-access - Postfix's lists of the local users allowed a command
 * (authorized_submit_users, authorized_flush_users, authorized_mailq_users): login names, "!item" to exclude, and
 * type:table items that match a name the table has as a key (so
 * static:anyone matches everyone); /file/name items were read with
 * main.cf. Items are tried left to right and the first match decides; a
 * name no item matches is refused, so an empty list allows no one. A uid
 * without a passwd entry is called "unknown". Used by sendmail, which
 * refuses at once, by pickup, which refuses what such a user left in
 * maildrop/ (writable by every user, since Petrel has no set-gid
 * postdrop), and by postqueue and sendmail -q. Follows postconf(5)
 * authorized_submit_users, authorized_flush_users and
 * authorized_mailq_users.
 */
import { accountName } from './accounts.js';
import { openTable } from './tables/table-registry.js';
import type { LookupTable, TableOpenContext } from './tables/table.js';

interface Item {
  readonly negated: boolean;
  readonly matches: (name: string) => Promise<boolean>;
}

/** Who may use a command, by login name. */
export class UserAccess {
  private constructor(private readonly items: readonly Item[]) {}

  /** Opens the tables the list names (a table that cannot be opened is a configuration error). */
  static async open(list: readonly string[], ctx: TableOpenContext): Promise<UserAccess> {
    const items: Item[] = [];
    for (const entry of list) {
      const negated = entry.startsWith('!');
      const text = negated ? entry.slice(1) : entry;
      if (/^[a-z0-9_]+:/i.test(text)) {
        const table: LookupTable = await openTable(text, ctx);
        items.push({ negated, matches: async (name) => (await table.lookup(name)) !== undefined });
      } else {
        items.push({ negated, matches: (name) => Promise.resolve(name === text) });
      }
    }
    return new UserAccess(items);
  }

  /** True when the list allows the user called name. */
  async allows(name: string): Promise<boolean> {
    for (const item of this.items) if (await item.matches(name)) return !item.negated;
    return false;
  }
}

/**
 * Why the invoking user may not do what ("flush the mail queue"), or
 * undefined when list allows them. With mailOwner given (postqueue, as
 * Postfix's), root and mail_owner always may; submitting mail has no such
 * exception. The refusal is Postfix's sentence.
 */
export async function refusedUser(list: readonly string[], ctx: TableOpenContext, what: string, mailOwner?: string): Promise<string | undefined> {
  const uid = process.getuid?.() ?? -1;
  const name = accountName(uid);
  if (mailOwner !== undefined && (uid === 0 || name === mailOwner)) return undefined;
  return (await (await UserAccess.open(list, ctx)).allows(name)) ? undefined : `User ${name}(${uid}) is not allowed to ${what}`;
}
