/*
 * table-file-watch - notices that a table's file changed on disk so a
 * running process re-reads it without a restart (DESIGN §4). It stats the
 * file at most once per interval, so a busy lookup path costs one clock read
 * per lookup, and compares inode, size and modification time. Used by the
 * file-backed table types (texthash, regexp, pcre, cidr, unix, lmdb).
 */
import { readFileSync, statSync } from 'node:fs';
import { msg } from '../../util/msg.js';
import { PetrelError } from '../errors.js';
import { splitBraceList } from './table-braces.js';
import type { LookupTable, MatchProgress } from './table.js';

/** How often a file is stat()ed at most, in milliseconds. */
export const FILE_CHECK_INTERVAL_MS = 1000;

function signature(path: string): string {
  try {
    const st = statSync(path);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** Tracks one file; changed() answers whether it differs from when last accepted. */
export class FileWatch {
  private seen: string;
  private nextCheck: number;

  constructor(readonly path: string) {
    this.seen = signature(path);
    this.nextCheck = Date.now() + FILE_CHECK_INTERVAL_MS;
  }

  /** True when the file changed since the last accept(); checks the disk at most once per interval. */
  changed(): boolean {
    const now = Date.now();
    if (now < this.nextCheck) return false;
    this.nextCheck = now + FILE_CHECK_INTERVAL_MS;
    return signature(this.path) !== this.seen;
  }

  /** Records the file's current state as the one in use (call after re-reading it). */
  accept(): void {
    this.seen = signature(this.path);
  }
}

/** Keeps a value loaded from a file current: the getter re-loads after a change, keeping the old value if the new file cannot be read. */
export function reloadingFile<T>(path: string, spec: string, load: (path: string) => T): () => T {
  let value = load(path);
  const watch = new FileWatch(path);
  return () => {
    if (watch.changed()) {
      watch.accept();
      try {
        value = load(path);
      } catch (err) {
        msg.warn(`${spec}: keeping the previous contents: ${(err as Error).message}`);
      }
    }
    return value;
  };
}

/**
 * Opens a rule table (regexp, pcre, cidr) given as a file or inline as
 * "{ {rule}, {rule} }": parse turns text into rules, match answers a key.
 */
export function openRuleTable<R>(
  name: string,
  spec: string,
  parse: (text: string, where: string) => R,
  match: (rules: R, key: string, progress?: MatchProgress) => string | undefined,
): LookupTable {
  let current: () => R;
  if (name.startsWith('{')) {
    const rules = parse(splitBraceList(name, spec).join('\n'), spec);
    current = () => rules;
  } else {
    current = reloadingFile(name, spec, (path) => {
      try {
        return parse(readFileSync(path, 'utf8'), path);
      } catch (err) {
        throw new PetrelError('table_open', `open ${path}: ${(err as Error).message}`, { temporary: true, cause: err });
      }
    });
  }
  return { spec, pattern: true, lookup: async (key) => match(current(), key), matchSync: (key, progress) => match(current(), key, progress), close: async () => {} };
}
