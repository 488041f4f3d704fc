/*
 * atomic-write - replaces a file's contents so that a reader sees either the
 * old file or the new one, never a half-written one: write a temporary file
 * beside it, fsync, keep the old file's permissions, rename over it and fsync
 * the directory. Used by postconf -e/-X/-#/-Me/-MX and other editors.
 */
import { closeSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Replaces path's contents with text atomically (creating it with mode 0644 when absent). */
export function writeFileAtomic(path: string, text: string): void {
  let mode = 0o644;
  try {
    mode = statSync(path).mode & 0o7777;
  } catch {
    // a new file gets the default mode
  }
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(temp, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(temp);
    throw err;
  }
  closeSync(fd);
  renameSync(temp, path);
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
