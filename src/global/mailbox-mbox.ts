/*
 * mailbox-mbox - appends one message to a UNIX-style mailbox: takes the dot
 * lock (path.lock, created exclusively; a lock older than stale_lock_time is
 * removed), writes the "From sender date" line, the prefix headers, the
 * message with "From " lines quoted and a closing empty line, fsyncs, and on
 * any failure truncates the mailbox back to its original length so a reader
 * never sees half a message. Called by the local delivery agent for
 * mail_spool_directory, home_mailbox files and /file destinations, and by
 * the virtual delivery agent for mailboxes not ending in "/". Written
 * as root for a user (owner), it follows no symbolic link, gives a new file
 * to the user and refuses someone else's. The calls that name a path (the
 * lock, the mailbox's open) run in the caller's identity section (ids); the
 * writes and the fsync on the open mailbox run outside it.
 * Follows local(8) and virtual(8) "UNIX-style mailbox delivery".
 */
import { closeSync, constants, fchownSync, fstatSync, ftruncateSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { fsyncFd, writeAllSync } from '../util/file-io.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Params } from './params/param-registry.js';
import { AS_PROCESS, type IdentityRunner } from './privileges.js';
import { writeLines, type MessageLines } from './mailbox-write.js';
import { asctime } from '../util/time-format.js';

/** Dot-lock timing: deliver_lock_attempts, deliver_lock_delay and stale_lock_time (seconds). */
export interface LockOptions {
  readonly attempts: number;
  readonly delay: number;
  readonly staleAfter: number;
}

/** The dot-lock timing the parameters ask for. */
export function deliverLockOptions(params: Pick<Params, 'deliver_lock_attempts' | 'deliver_lock_delay' | 'stale_lock_time'>): LockOptions {
  return { attempts: params.deliver_lock_attempts, delay: params.deliver_lock_delay, staleAfter: params.stale_lock_time };
}

/** Raised when the mailbox lock could not be taken: a temporary condition. */
export class MailboxLockError extends Error {
  constructor(readonly lockPath: string) {
    super(`unable to lock ${lockPath}: still held after all attempts`);
    this.name = 'MailboxLockError';
  }
}

/** Creates the lock file; false when someone else holds it. */
function createDotLock(lockPath: string): boolean {
  let fd: number;
  try {
    fd = openSync(lockPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Removes lockPath when it is older than staleAfter seconds; true when it did. */
function removeStaleLock(lockPath: string, staleAfter: number): boolean {
  const stat = statSync(lockPath, { throwIfNoEntry: false });
  if (stat === undefined || Date.now() - stat.mtimeMs <= staleAfter * 1000) return false;
  rmSync(lockPath, { force: true });
  return true;
}

async function takeDotLock(lockPath: string, options: LockOptions, ids: IdentityRunner): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (ids(() => createDotLock(lockPath))) return;
    if (ids(() => removeStaleLock(lockPath, options.staleAfter))) continue;
    if (attempt >= options.attempts) throw new MailboxLockError(lockPath);
    await sleep(options.delay * 1000);
  }
}

/** The envelope line that starts each mbox message, in local time: "From sender  Sun Nov  2 14:26:03 2026". */
export function mboxFromLine(sender: string, when: Date): Buffer {
  return Buffer.from(`From ${sender === '' ? 'MAILER-DAEMON' : sender}  ${asctime(when)}`);
}

/**
 * Appends the message to the mbox at path (created 0600 when missing), as
 * one locked, fsynced, all-or-nothing write. sizeLimit bounds the whole
 * mailbox (0: none).
 */
export async function deliverToMbox(
  path: string,
  envelopeLine: Buffer,
  lines: MessageLines,
  options: { sizeLimit: number; lock: LockOptions; owner?: { readonly uid: number; readonly gid: number }; ids?: IdentityRunner },
): Promise<void> {
  const ids = options.ids ?? AS_PROCESS;
  const lockPath = `${path}.lock`;
  await takeDotLock(lockPath, options.lock, ids);
  try {
    const owner = options.owner;
    const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (owner === undefined ? 0 : constants.O_NOFOLLOW);
    const fd = ids(() => openSync(path, flags, 0o600));
    const st = fstatSync(fd);
    const originalSize = st.size;
    try {
      if (owner !== undefined && st.uid !== owner.uid) {
        if (st.uid !== process.geteuid?.() || st.size !== 0) throw new Error(`mailbox ${path} belongs to uid ${st.uid}, not to the recipient`);
        fchownSync(fd, owner.uid, owner.gid);
      }
      if (!st.isFile()) throw new Error(`mailbox ${path} is not a regular file`);
      const envelope = Buffer.concat([envelopeLine, Buffer.from('\n')]);
      writeAllSync(fd, envelope, null);
      await writeLines((chunk) => writeAllSync(fd, chunk, null), withSeparator(lines), {
        quoteFrom: true,
        sizeLimit: options.sizeLimit,
        alreadyThere: originalSize + envelope.length,
      });
      await fsyncFd(fd);
    } catch (err) {
      try {
        ftruncateSync(fd, originalSize);
      } catch {
        // the mailbox could not be cut back: the error below says what failed first
      }
      throw err;
    } finally {
      closeSync(fd);
    }
  } finally {
    ids(() => rmSync(lockPath, { force: true }));
  }
}

/** The message, then the empty line that separates it from the next one. */
async function* withSeparator(lines: MessageLines): AsyncGenerator<Buffer> {
  for await (const line of lines) yield line;
  yield Buffer.alloc(0);
}
