/*
 * verify-cache - the address status cache of the verify service
 * (address_verify_map): one entry per address with its status, when the
 * last probe for it left (0: none pending), when a probe result last came
 * in (0: never) and the text of that result, stored as
 * "status:probed:updated:text" as Postfix's verify(8) does. The cache is
 * an LMDB file (btree:, hash: and lmdb: name LMDB files in Petrel, as in
 * table-lmdb.ts), written only by the one verify process; an empty
 * address_verify_map keeps it in memory. Used by verify-main.ts.
 */
import type { RootDatabase } from 'lmdb';
import type { AddressStatus } from '../global/verify-clnt.js';
import { PetrelError } from '../global/errors.js';
import { acquireIndexedFile, indexedFile, INDEXED_SUFFIXES } from '../global/tables/table-lmdb.js';

/** One address's entry. */
export interface StatusEntry {
  readonly status: AddressStatus;
  /** When the last probe was sent (ms), 0 when none is pending. */
  readonly probed: number;
  /** When the last probe result came in (ms), 0 for never. */
  readonly updated: number;
  readonly text: string;
}

const STATUSES: ReadonlySet<string> = new Set<AddressStatus>(['ok', 'defer', 'bounce', 'todo']);

function encode(entry: StatusEntry): string {
  return `${entry.status}:${entry.probed}:${entry.updated}:${entry.text}`;
}

/** The entry a stored value holds, or undefined when it is not one. */
export function decodeEntry(value: string): StatusEntry | undefined {
  const [status = '', probed = '', updated = ''] = value.split(':', 3);
  const text = value.split(':').slice(3).join(':');
  if (!STATUSES.has(status) || !/^\d+$/.test(probed) || !/^\d+$/.test(updated)) return undefined;
  return { status: status as AddressStatus, probed: Number(probed), updated: Number(updated), text };
}

/** The status cache. */
export class StatusCache {
  private constructor(
    private readonly db: RootDatabase<string, string> | Map<string, string>,
    /** What the log names the cache by. */
    readonly name: string,
  ) {}

  /** Opens address_verify_map: a btree:, hash: or lmdb: file (created when missing), or memory for an empty value. */
  static open(spec: string): StatusCache {
    const trimmed = spec.trim();
    if (trimmed === '') return new StatusCache(new Map(), 'memory');
    const colon = trimmed.indexOf(':');
    const type = colon < 0 ? '' : trimmed.slice(0, colon);
    if (INDEXED_SUFFIXES[type] === undefined || colon === trimmed.length - 1) {
      throw new PetrelError('config', `address_verify_map: unsupported cache "${trimmed}" (expected ${Object.keys(INDEXED_SUFFIXES).join(':, ')}: and a file name, or nothing)`);
    }
    const file = indexedFile(type, trimmed.slice(colon + 1));
    return new StatusCache(acquireIndexedFile(file, true), file);
  }

  get(address: string): StatusEntry | undefined {
    const value = this.db.get(address);
    return value === undefined ? undefined : decodeEntry(value);
  }

  async put(address: string, entry: StatusEntry): Promise<void> {
    if (this.db instanceof Map) this.db.set(address, encode(entry));
    else await this.db.put(address, encode(entry));
  }

  async remove(address: string): Promise<void> {
    if (this.db instanceof Map) this.db.delete(address);
    else await this.db.remove(address);
  }

  /** Every entry (an unreadable one as undefined). */
  *entries(): Generator<[string, StatusEntry | undefined]> {
    const all = this.db instanceof Map ? [...this.db.entries()] : [...this.db.getRange()].map(({ key, value }) => [key, value] as const);
    for (const [key, value] of all) yield [key, decodeEntry(value)];
  }
}
