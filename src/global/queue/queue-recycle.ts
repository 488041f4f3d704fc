/*
 * queue-recycle - keeps the files of finished messages for new ones. When
 * qmgr is done with a message it renames the file into recycle/ instead of
 * removing it (up to RECYCLE_POOL_LIMIT files of at most RECYCLE_MAX_BYTES,
 * so the pool never holds more than 64 MB), and cleanup renames one from
 * there to the temporary name of a new queue file instead of creating one.
 * A message then costs no inode allocation and no inode release: on ext4
 * without a journal every allocation checks each recently freed inode of
 * its block group (the kernel avoids reusing them for 60 to 360 seconds),
 * which was measured at up to 1 ms of system time per new file under a
 * steady flow of deliveries, and elsewhere it still saves the bitmap and
 * directory work of a create and a remove. The old content is overwritten
 * and the file cut to its new length before it is fsync()ed (see
 * queue-file-write.ts); a file in recycle/ is never read as a message.
 */
import { readdirSync, renameSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isQueueId } from './queue-id.js';
import { queuePath, RECYCLE_DIRECTORY } from './queue-paths.js';

/**
 * The most spare files kept; beyond that a finished message's file is
 * removed. Large enough to take back what a backlog of deliveries made
 * cleanup create while the pool was empty.
 */
export const RECYCLE_POOL_LIMIT = 1024;

/** The largest file kept (its old content stays until it is reused); a larger one is removed. */
export const RECYCLE_MAX_BYTES = 64 * 1024;

/** How often, at most, the keeper of a pool it believes full counts its files again. */
const RECOUNT_MS = 100;

/** qmgr's view of the pool: its size as last counted plus what it added since (unknown, so full, at first). */
let kept = { count: RECYCLE_POOL_LIMIT, countedAt: Number.NEGATIVE_INFINITY };

/** Spare file names cleanup saw at its last look and has not tried yet (an empty pool is looked at again each time: one readdir). */
let spares: string[] = [];

/** The regular files in the pool (anything else there is left alone). */
function spareNames(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && isQueueId(entry.name))
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

/**
 * Disposes of a finished message's file at path (of about size bytes):
 * renamed into the pool while the pool has room and the file is small,
 * removed otherwise. Throws when neither works.
 */
export function recycleQueueFile(queueDirectory: string, path: string, size: number): void {
  if (size > RECYCLE_MAX_BYTES) {
    unlinkSync(path);
    return;
  }
  const dir = queuePath(queueDirectory, RECYCLE_DIRECTORY);
  const now = Date.now();
  // The count only grows here while cleanup takes files out: it is checked when it says full.
  if (kept.count >= RECYCLE_POOL_LIMIT && now - kept.countedAt >= RECOUNT_MS) kept = { count: spareNames(dir).length, countedAt: now };
  if (kept.count < RECYCLE_POOL_LIMIT) {
    try {
      renameSync(path, join(dir, basename(path)));
      kept.count++;
      return;
    } catch {
      // No pool directory (a queue made before there was one): the file is removed instead.
    }
  }
  unlinkSync(path);
}

/**
 * Moves a spare file to target (a new queue file's temporary name);
 * returns false when the pool is empty, and the caller creates a file.
 */
export function takeRecycledFile(queueDirectory: string, target: string): boolean {
  const dir = queuePath(queueDirectory, RECYCLE_DIRECTORY);
  for (;;) {
    if (spares.length === 0) spares = spareNames(dir);
    const name = spares.pop();
    if (name === undefined) return false;
    try {
      renameSync(join(dir, name), target);
      return true;
    } catch (err) {
      // Another cleanup process took it first.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
    }
  }
}
