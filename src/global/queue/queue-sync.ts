/*
 * queue-sync - makes a directory entry durable: fsync() on the directory
 * that holds path, after a create, rename or unlink in it. Used by the queue
 * file writer and by every queue move, so that a crash cannot forget a
 * message the system has acknowledged.
 */
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

/** fsync()s the directory containing path. */
export async function fsyncDirectory(path: string): Promise<void> {
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
