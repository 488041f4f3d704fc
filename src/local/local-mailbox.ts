/*
 * local-mailbox - the last step of local(8) delivery for one user:
 * mailbox_command when set, else home_mailbox under the home directory, else
 * the user's file in mail_spool_directory; a trailing "/" selects Maildir,
 * anything else an mbox file (dot-locked, "From " quoted). Errors become
 * outcomes: a full mailbox bounces (5.2.2), a held lock or a file system
 * problem defers.
 */
import { join } from 'node:path';
import type { Params } from '../global/params/param-registry.js';
import { deliverToCommand, type CommandEnv } from './local-command.js';
import { deliverToMaildir } from './local-maildir.js';
import { deliverToMbox, MailboxLockError, mboxFromLine } from './local-mbox.js';
import { MailboxLimitError, type MessageLines } from './local-write.js';

/** What became of one delivery. */
export interface Outcome {
  readonly status: 'sent' | 'deferred' | 'bounced';
  readonly dsn: string;
  readonly reason: string;
}

/** A user's account as local delivery needs it. */
export interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

/** The outcome of a failed file write. */
export function fileFailure(err: unknown, what: string): Outcome {
  if (err instanceof MailboxLimitError) return { status: 'bounced', dsn: '5.2.2', reason: `cannot update ${what}: mailbox full` };
  if (err instanceof MailboxLockError) return { status: 'deferred', dsn: '4.2.0', reason: `cannot update ${what}: unable to lock mailbox` };
  return { status: 'deferred', dsn: '4.2.0', reason: `cannot update ${what}: ${(err as Error).message}` };
}

/** Appends the message to an mbox file or writes it into a Maildir (path ending in "/"). */
export async function deliverToPath(params: Params, path: string, sender: string, lines: MessageLines, kind: 'mailbox' | 'file'): Promise<Outcome> {
  try {
    if (path.endsWith('/')) {
      await deliverToMaildir(path, lines, { sizeLimit: params.mailbox_size_limit });
      return { status: 'sent', dsn: '2.0.0', reason: kind === 'file' ? `delivered to file: ${path}` : 'delivered to maildir' };
    }
    await deliverToMbox(path, mboxFromLine(sender, new Date()), lines, {
      sizeLimit: params.mailbox_size_limit,
      lock: { attempts: params.deliver_lock_attempts, delay: params.deliver_lock_delay * 1000, staleAfter: params.stale_lock_time * 1000 },
    });
    return { status: 'sent', dsn: '2.0.0', reason: kind === 'file' ? `delivered to file: ${path}` : 'delivered to mailbox' };
  } catch (err) {
    return fileFailure(err, kind === 'file' ? `file ${path}` : `mailbox ${path}`);
  }
}

/** Delivers to the user's mailbox per mailbox_command, home_mailbox and mail_spool_directory. */
export async function deliverToMailbox(params: Params, account: Account, env: CommandEnv, lines: MessageLines): Promise<Outcome> {
  if (params.mailbox_command !== '') {
    const failure = await deliverToCommand(params.mailbox_command, lines, env, {
      shell: params.local_command_shell === '' ? '/bin/sh' : params.local_command_shell,
      timeLimitSeconds: params.command_time_limit,
      exportEnvironment: params.export_environment,
      cwd: account.home,
    });
    if (failure === undefined) return { status: 'sent', dsn: '2.0.0', reason: `delivered to command: ${params.mailbox_command}` };
    return { status: failure.dsn.startsWith('4') ? 'deferred' : 'bounced', dsn: failure.dsn, reason: failure.text };
  }
  if (params.home_mailbox !== '') return deliverToPath(params, join(account.home, params.home_mailbox) + (params.home_mailbox.endsWith('/') ? '/' : ''), env.sender, lines, 'mailbox');
  const spool = params.mail_spool_directory;
  const path = spool.endsWith('/') ? `${join(spool, account.name)}/` : join(spool, account.name);
  return deliverToPath(params, path, env.sender, lines, 'mailbox');
}
