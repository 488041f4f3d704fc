/*
 * local-mailbox - the last step of local(8) delivery for one user:
 * mailbox_command when set, else home_mailbox under the home directory, else
 * the user's file in mail_spool_directory; a trailing "/" selects Maildir,
 * anything else an mbox file (dot-locked, "From " quoted). Errors become
 * outcomes: a full mailbox bounces (5.2.2), a held lock or a file system
 * problem defers. Mailboxes in the home directory are written with the
 * user's rights; in a mail spool directory that users cannot write (Debian's
 * /var/mail, 2775 root:mail) the mbox is locked and written as root, and a
 * new one is given to the user, as local(8) does.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Account } from '../global/accounts.js';
import type { Params } from '../global/params/param-registry.js';
import { deliverToCommand, type CommandEnv } from './local-command.js';
import { deliverToMaildir } from '../global/mailbox-maildir.js';
import { deliverLockOptions, deliverToMbox, mboxFromLine } from '../global/mailbox-mbox.js';
import { fileFailure, type Outcome } from '../global/mailbox-outcome.js';
import type { UserRights } from './local-rights.js';
import { AS_PROCESS, type IdentityRunner } from '../global/privileges.js';
import type { MessageLines } from '../global/mailbox-write.js';

/**
 * Appends the message to an mbox file or writes it into a Maildir (path
 * ending in "/"), naming paths with the rights ids gives. owner: the mbox is
 * written as root on that user's behalf (no symbolic link followed, a new
 * file given to them, someone else's refused).
 */
export async function deliverToPath(
  params: Params,
  path: string,
  sender: string,
  lines: MessageLines,
  kind: 'mailbox' | 'file',
  ids: IdentityRunner,
  owner?: Account,
): Promise<Outcome> {
  try {
    if (path.endsWith('/')) {
      await deliverToMaildir(path, lines, { sizeLimit: params.mailbox_size_limit, ids });
      return { status: 'sent', dsn: '2.0.0', reason: kind === 'file' ? `delivered to file: ${path}` : 'delivered to maildir' };
    }
    await deliverToMbox(path, mboxFromLine(sender, new Date()), lines, {
      sizeLimit: params.mailbox_size_limit,
      lock: deliverLockOptions(params),
      owner,
      ids,
    });
    return { status: 'sent', dsn: '2.0.0', reason: kind === 'file' ? `delivered to file: ${path}` : 'delivered to mailbox' };
  } catch (err) {
    return fileFailure(err, kind === 'file' ? `file ${path}` : `mailbox ${path}`);
  }
}

/** Delivers to the user's mailbox: the command (mailbox_command, expanded) when set, else home_mailbox or mail_spool_directory. */
export async function deliverToMailbox(params: Params, command: string, account: Account, env: CommandEnv, lines: MessageLines, rights: UserRights): Promise<Outcome> {
  if (command !== '') {
    const failure = await deliverToCommand(command, lines, env, {
      shell: params.local_command_shell === '' ? '/bin/sh' : params.local_command_shell,
      timeLimitSeconds: params.command_time_limit,
      exportEnvironment: params.export_environment,
      cwd: account.home,
      ids: rights.commandIds(account),
    });
    if (failure === undefined) return { status: 'sent', dsn: '2.0.0', reason: `delivered to command: ${command}` };
    return { status: failure.dsn.startsWith('4') ? 'deferred' : 'bounced', dsn: failure.dsn, reason: failure.text };
  }
  if (params.home_mailbox !== '') {
    const path = join(account.home, params.home_mailbox) + (params.home_mailbox.endsWith('/') ? '/' : '');
    return deliverToPath(params, path, env.sender, lines, 'mailbox', rights.asUser(account));
  }
  const spool = params.mail_spool_directory;
  if (spool.endsWith('/')) return deliverToPath(params, `${join(spool, account.name)}/`, env.sender, lines, 'mailbox', rights.asUser(account));
  const path = join(spool, account.name);
  const userWritable = await stat(spool).then((st) => (st.mode & 0o002) !== 0, () => true);
  if (userWritable || rights.commandIds(account) === undefined) return deliverToPath(params, path, env.sender, lines, 'mailbox', rights.asUser(account));
  return deliverToPath(params, path, env.sender, lines, 'mailbox', AS_PROCESS, account);
}
