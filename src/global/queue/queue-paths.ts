/*
 * queue-paths - the queue directory layout (DESIGN §2) and the one place
 * that turns a queue name and a queue ID into a path. Queue IDs are checked
 * here, so no caller can build a path from untrusted text. "petrel check"
 * and the master create what is missing with the right modes and, when the
 * instance runs as root, give the queue to mail_owner. maildrop/ is
 * writable by everyone and readable by no one but its owner (mode 1733, as
 * Postfix's maildrop was before postdrop became set-gid), so any local user
 * can submit with sendmail; public/ can be crossed by everyone, to reach
 * the pickup and qmgr triggers.
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Account } from '../accounts.js';
import { PetrelError } from '../errors.js';
import { isQueueId } from './queue-id.js';

/** The queues a message file can be in. */
export const MESSAGE_QUEUES = ['maildrop', 'incoming', 'active', 'deferred', 'hold', 'corrupt', 'saved'] as const;
export type MessageQueue = (typeof MESSAGE_QUEUES)[number];

/** Per-message delivery logs kept beside the queues (bounce and defer reasons, trace). */
export const LOG_QUEUES = ['bounce', 'defer', 'trace'] as const;

/** Spare files of finished messages, kept for new ones (queue-recycle.ts). */
export const RECYCLE_DIRECTORY = 'recycle';

/** Every directory under queue_directory, with its mode. */
export const QUEUE_DIRECTORIES: Readonly<Record<string, number>> = {
  maildrop: 0o1733,
  incoming: 0o700,
  active: 0o700,
  deferred: 0o700,
  hold: 0o700,
  corrupt: 0o700,
  saved: 0o700,
  bounce: 0o700,
  defer: 0o700,
  trace: 0o700,
  [RECYCLE_DIRECTORY]: 0o700,
  public: 0o711,
  private: 0o700,
  pid: 0o755,
};

/** True for a queue name a message can be in. */
export function isMessageQueue(name: string): name is MessageQueue {
  return (MESSAGE_QUEUES as readonly string[]).includes(name);
}

/** The path of message id in queue; a bad ID is an error. */
export function queueFilePath(queueDirectory: string, queue: MessageQueue, id: string): string {
  if (!isQueueId(id)) throw new PetrelError('io', `bad queue ID: "${id}"`);
  return join(queueDirectory, queue, id);
}

/** The directory of a queue. */
export function queuePath(queueDirectory: string, queue: string): string {
  return join(queueDirectory, queue);
}

/** Directories that stay root's when the queue belongs to mail_owner. */
const ROOT_DIRECTORIES = new Set(['pid']);

/** Gives path to owner when it is not theirs already; returns whether it changed. */
function own(path: string, owner: Pick<Account, 'uid' | 'gid'>): boolean {
  const st = lstatSync(path);
  if (st.uid === owner.uid && st.gid === owner.gid) return false;
  chownSync(path, owner.uid, owner.gid);
  return true;
}

/**
 * Creates every missing queue directory and sets each one's mode; with an
 * owner (an instance run as root), gives the directories and the files in
 * them (not a user's maildrop file) to that owner. Returns the paths of
 * directories and files whose owner changed.
 */
export function ensureQueueDirectories(queueDirectory: string, owner?: Pick<Account, 'uid' | 'gid'>): string[] {
  mkdirSync(queueDirectory, { recursive: true, mode: 0o755 });
  const changed: string[] = [];
  for (const [name, mode] of Object.entries(QUEUE_DIRECTORIES)) {
    const dir = join(queueDirectory, name);
    mkdirSync(dir, { recursive: true, mode });
    chmodSync(dir, mode);
    if (owner === undefined || ROOT_DIRECTORIES.has(name)) continue;
    if (own(dir, owner)) changed.push(dir);
    if (name === 'maildrop' || name === 'public' || name === 'private') continue;
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (own(path, owner)) changed.push(path);
    }
  }
  return changed;
}

/**
 * Creates data_directory (the smtp TLS session cache lives there) for the
 * mail owner, mode 0700, as Postfix's start-up does; true when it changed
 * the owner. A directory that cannot be made is a configuration error.
 */
export function ensureDataDirectory(dataDirectory: string, owner?: Pick<Account, 'uid' | 'gid'>): boolean {
  try {
    mkdirSync(dataDirectory, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new PetrelError('config', `data_directory ${dataDirectory}: cannot create it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return owner !== undefined && own(dataDirectory, owner);
}
