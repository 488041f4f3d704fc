/*
 * mailbox-maildir - delivers one message into a Maildir the qmail way: the
 * message is written to tmp/ under a unique name, fsynced, then renamed into
 * new/, and new/ is fsynced, so a reader never sees a partial message and a
 * delivery reported as done survives a crash. A caller that keeps a quota
 * sees the message's size before it enters new/ and may refuse it (admit).
 * Every call that names a path (mkdir, open, rename, unlink) runs in the
 * caller's identity section (ids: the recipient's uid and gid); the writes
 * and fsyncs on the open file run outside it.
 * Called by the local delivery agent for home_mailbox / aliases ending in
 * "/" and by the virtual delivery agent for mailboxes ending in "/".
 * Follows local(8) and virtual(8) "maildir delivery" and the Maildir naming
 * convention (time.MusecPpidQn.host,S=size).
 */
import { closeSync, constants, mkdirSync, openSync, renameSync, unlinkSync } from 'node:fs';
import { fsyncDirectory, fsyncFd, writeAllSync } from '../util/file-io.js';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AS_PROCESS, type IdentityRunner } from './privileges.js';
import { writeLines, type MessageLines } from './mailbox-write.js';

let deliveries = 0;

/** Host part of a Maildir name, with "/" and ":" escaped as the convention asks (read once per process). */
const MAILDIR_HOST = hostname().replace(/\//g, '\\057').replace(/:/g, '\\072');

/** Maildirs this process already made sure of; one removed since is noticed by the ENOENT it causes. */
const ensured = new Set<string>();

/** Creates dir and its tmp/, new/ and cur/ when missing (mode 0700), with the ids of the caller's section. */
export function ensureMaildir(dir: string): void {
  if (ensured.has(dir)) return;
  for (const sub of ['', 'tmp', 'new', 'cur']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
  ensured.add(dir);
}

/**
 * Runs step; when it fails with ENOENT (the Maildir was removed while we
 * ran: an administrator cleaning up, a restore) makes the folders again and
 * runs it once more, so the delivery goes through now rather than deferring.
 */
function withMaildir<T>(dir: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    ensured.delete(dir);
    ensureMaildir(dir);
    return step();
  }
}

/**
 * Writes prefix lines (Return-Path, Delivered-To, ...) and the message into
 * the Maildir at dir; returns the final path under new/. Size limit 0 means
 * none; over the limit the temporary file is removed and an error raised.
 * admit, when given, sees the size of the written message before it enters
 * new/ (in an identity section); when it throws, the temporary file is
 * removed and its error raised. ids runs the calls that name a path.
 */
export async function deliverToMaildir(
  dir: string,
  lines: MessageLines,
  options: { sizeLimit: number; admit?: (size: number) => void; ids?: IdentityRunner },
): Promise<string> {
  const ids = options.ids ?? AS_PROCESS;
  const now = process.hrtime.bigint();
  const seconds = Math.floor(Date.now() / 1000);
  const usec = Number((now / 1000n) % 1000000n);
  deliveries += 1;
  const base = `${seconds}.M${usec}P${process.pid}Q${deliveries}.${MAILDIR_HOST}`;
  const tmpPath = join(dir, 'tmp', base);
  const fd = ids(() => {
    ensureMaildir(dir);
    return withMaildir(dir, () => openSync(tmpPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600));
  });
  let size: number;
  try {
    size = await writeLines((chunk) => writeAllSync(fd, chunk, null), lines, { quoteFrom: false, sizeLimit: options.sizeLimit });
    await fsyncFd(fd);
    if (options.admit !== undefined) ids(() => options.admit?.(size));
  } catch (err) {
    closeSync(fd);
    ids(() => unlinkSync(tmpPath));
    throw err;
  }
  closeSync(fd);
  const finalPath = join(dir, 'new', `${base},S=${size}`);
  ids(() => withMaildir(dir, () => renameSync(tmpPath, finalPath)));
  await fsyncDirectory(finalPath);
  return finalPath;
}
