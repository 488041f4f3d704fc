/*
 * file-io - the file operations of the hot paths (queue files, mailboxes),
 * done with synchronous system calls except fsync. On local disks an open,
 * write, rename or unlink takes microseconds; sending it through libuv's
 * thread pool costs 40 to 80 µs of CPU per operation on the reference
 * machine (measured: open+close 1.3 µs synchronous against 80 µs through
 * fs/promises), which was the largest single cost per message. fsync
 * waits for the disk, so it alone stays asynchronous and never blocks the
 * event loop.
 */
import { closeSync, constants, fstatSync, fsync, openSync, readFileSync, statfsSync, writeSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';

/** fsync() through the thread pool: the disk wait does not block the event loop. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err === null ? resolve() : reject(err))));
}

/**
 * Reads path as UTF-8 text when it is a regular file, with its status;
 * undefined for anything else (a FIFO planted in a file's place is opened
 * without blocking and never read, so it cannot hold up the process).
 * Throws when path cannot be opened.
 */
export function readRegularFileSync(path: string): { readonly text: string; readonly stat: Stats } | undefined {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    return stat.isFile() ? { text: readFileSync(fd, 'utf8'), stat } : undefined;
  } finally {
    closeSync(fd);
  }
}

/** Writes all of data at position (or at the current offset when position is null). */
export function writeAllSync(fd: number, data: Buffer, position: number | null): void {
  let offset = 0;
  while (offset < data.length) {
    const written = writeSync(fd, data, offset, data.length - offset, position === null ? null : position + offset);
    offset += written;
  }
}

/** One directory's fsyncs: the one under way, and the one that will follow it for those who came meanwhile. */
interface DirectorySync {
  running: Promise<void> | undefined;
  next: Promise<void> | undefined;
}

const directorySyncs = new Map<string, DirectorySync>();

/**
 * fsync()s the directory that holds path, making a create, rename or unlink
 * in it durable. Concurrent callers share: one who comes while an fsync of
 * the directory runs (it may have started before this caller's change)
 * waits for the next one, which starts when it ends and serves everyone
 * who came meanwhile. Twenty deliveries into one Maildir cost two
 * directory fsyncs, not twenty.
 */
export function fsyncDirectory(path: string): Promise<void> {
  const dir = dirname(path);
  const state = directorySyncs.get(dir) ?? { running: undefined, next: undefined };
  if (state.running === undefined) return beginDirectorySync(dir, state);
  state.next ??= state.running.catch(() => undefined).then(() => beginDirectorySync(dir, state));
  return state.next;
}

/** Starts an fsync of dir; the directory is forgotten once it ends with none waiting. */
function beginDirectorySync(dir: string, state: DirectorySync): Promise<void> {
  const running = syncDirectoryNow(dir);
  state.running = running;
  state.next = undefined;
  directorySyncs.set(dir, state);
  const forget = (): void => {
    if (state.running === running && state.next === undefined) directorySyncs.delete(dir);
  };
  running.then(forget, forget);
  return running;
}

async function syncDirectoryNow(dir: string): Promise<void> {
  const fd = openSync(dir, constants.O_RDONLY);
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * File systems on which fsync() of a file also makes durable the name a
 * rename() just gave it: ext2/3/4 (with a journal the rename is in the
 * transaction the fsync commits; without one the file's new parent directory
 * is written with it), XFS (the log is forced up to the file's last change,
 * the rename included) and btrfs (the new name is logged with the file).
 */
const FSYNC_COVERS_RENAME = new Set([0xef53, 0x58465342, 0x9123683e]);

const coversRename = new Map<string, boolean>();

/** True when fsync() of a file renamed into dir makes its new name durable too (decided once per directory). */
export function fsyncCoversRename(dir: string): boolean {
  let covers = coversRename.get(dir);
  if (covers === undefined) {
    try {
      covers = FSYNC_COVERS_RENAME.has(statfsSync(dir).type);
    } catch {
      covers = false;
    }
    coversRename.set(dir, covers);
  }
  return covers;
}
