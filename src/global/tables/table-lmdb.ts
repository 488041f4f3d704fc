/*
 * table-lmdb - the indexed table types hash:, btree: and lmdb:, all stored
 * in one LMDB file beside the source (hash:/etc/x reads /etc/x.db, lmdb:/etc/x
 * reads /etc/x.lmdb), built by postmap and postalias. A rebuild replaces the
 * contents in one write transaction, so a reader sees the old table or the
 * new one, never a mix; readers move to the newest snapshot on each event
 * turn and reopen when the file itself was replaced. Follows postmap(1) and
 * Postfix's lmdb_table(5).
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type * as Lmdb from 'lmdb';
import type { RootDatabase } from 'lmdb';
import { PetrelError } from '../errors.js';
import { FileWatch } from './table-file-watch.js';
import type { LookupTable, TableOpenContext } from './table.js';

/** The table types this module serves, with their file suffixes. */
export const INDEXED_SUFFIXES: Readonly<Record<string, string>> = { hash: '.db', btree: '.db', lmdb: '.lmdb' };

/** The LMDB key length limit: longer keys cannot be stored. */
const MAX_KEY_BYTES = 1978;

/** The indexed file of type:name. */
export function indexedFile(type: string, name: string): string {
  const suffix = INDEXED_SUFFIXES[type];
  if (suffix === undefined) throw new PetrelError('table_spec', `${type} is not an indexed table type`);
  return name + suffix;
}

/**
 * lmdb, loaded by the first process that opens an indexed file (its binding
 * costs about 3.5 MB in each process that loads it; the master, pickup and
 * most qmgr configurations never open one). Only this module loads lmdb.
 */
let lmdb: typeof Lmdb | undefined;

function loadLmdb(): typeof Lmdb {
  lmdb ??= createRequire(import.meta.url)('lmdb') as typeof Lmdb;
  return lmdb;
}

interface SharedFile {
  readonly db: RootDatabase<string, string>;
  refs: number;
}

/** LMDB allows one handle per file per process, so handles are shared and counted. */
const openFiles = new Map<string, SharedFile>();

function canWrite(file: string): boolean {
  try {
    accessSync(existsSync(file) ? file : dirname(file), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Opens (or shares) the LMDB file; a missing file is an error unless create is set. */
export function acquireIndexedFile(file: string, create: boolean): RootDatabase<string, string> {
  const shared = openFiles.get(file);
  if (shared !== undefined) {
    shared.refs++;
    return shared.db;
  }
  if (!create && !existsSync(file)) {
    throw new PetrelError('table_open', `open database ${file}: No such file or directory`, { temporary: true });
  }
  try {
    const db = loadLmdb().open<string, string>({ path: file, noSubdir: true, encoding: 'string', readOnly: !canWrite(file) });
    openFiles.set(file, { db, refs: 1 });
    return db;
  } catch (err) {
    throw new PetrelError('table_open', `open database ${file}: ${(err as Error).message}`, { temporary: true, cause: err });
  }
}

/** Releases a handle from acquireIndexedFile; the file is closed when the last user lets go. */
export async function releaseIndexedFile(file: string): Promise<void> {
  const shared = openFiles.get(file);
  if (shared === undefined || --shared.refs > 0) return;
  openFiles.delete(file);
  await shared.db.close();
}

function checkKey(key: string, file: string): void {
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new PetrelError('table_syntax', `${file}: key too long (more than ${MAX_KEY_BYTES} bytes): "${key.slice(0, 40)}..."`);
  }
}

/** Replaces the whole contents of file with entries in one transaction. */
export async function rebuildIndexedFile(file: string, entries: Iterable<readonly [string, string]>): Promise<void> {
  const db = acquireIndexedFile(file, true);
  try {
    db.transactionSync(() => {
      for (const key of db.getKeys()) db.removeSync(key);
      for (const [key, value] of entries) {
        checkKey(key, file);
        db.putSync(key, value);
      }
    });
  } finally {
    await releaseIndexedFile(file);
  }
}

/** Adds or replaces entries; existing keys are kept when replace is false (their keys are returned). */
export async function updateIndexedFile(file: string, entries: Iterable<readonly [string, string]>, replace: boolean): Promise<string[]> {
  const db = acquireIndexedFile(file, true);
  const kept: string[] = [];
  try {
    db.transactionSync(() => {
      for (const [key, value] of entries) {
        checkKey(key, file);
        if (!replace && db.get(key) !== undefined) kept.push(key);
        else db.putSync(key, value);
      }
    });
  } finally {
    await releaseIndexedFile(file);
  }
  return kept;
}

/** Deletes keys; returns how many existed. */
export async function deleteFromIndexedFile(file: string, keys: Iterable<string>): Promise<number> {
  const db = acquireIndexedFile(file, true);
  let deleted = 0;
  try {
    db.transactionSync(() => {
      for (const key of keys) if (db.removeSync(key)) deleted++;
    });
  } finally {
    await releaseIndexedFile(file);
  }
  return deleted;
}

/** Every key and value, in key order. */
export function* dumpIndexedFile(file: string): Generator<[string, string]> {
  const db = acquireIndexedFile(file, false);
  try {
    for (const { key, value } of db.getRange()) yield [key, value];
  } finally {
    void releaseIndexedFile(file);
  }
}

/** Opens an indexed table for lookups. */
export async function openIndexed(type: string, name: string, spec: string, ctx: TableOpenContext): Promise<LookupTable> {
  const fold = ctx.foldKeys ?? true;
  const file = indexedFile(type, name);
  let db = acquireIndexedFile(file, false);
  const watch = new FileWatch(file);
  return {
    spec,
    pattern: false,
    async lookup(key) {
      if (watch.changed()) {
        watch.accept();
        await releaseIndexedFile(file);
        db = acquireIndexedFile(file, false);
      }
      try {
        return db.get(fold ? key.toLowerCase() : key);
      } catch (err) {
        throw new PetrelError('table_lookup', `${spec}: lookup of "${key}" failed: ${(err as Error).message}`, { temporary: true, cause: err });
      }
    },
    async close() {
      await releaseIndexedFile(file);
    },
  };
}
