/*
 * table-source - reads the source text of a lookup table as postmap(1)
 * does: comments and blank lines skipped, a line starting with white space
 * continues the previous one, the key ends at the first white space and the
 * rest (trimmed) is the value. Keys are folded to lower case unless asked
 * not to. A line without a value is warned about and skipped; a duplicate key
 * keeps the first value with a warning, unless the options say otherwise. Used by texthash and by postmap
 * builds of hash/btree/lmdb.
 */
import { readFileSync } from 'node:fs';
import { logicalLines } from '../config/config-lines.js';
import { PetrelError } from '../errors.js';
import { msg } from '../../util/msg.js';

/** One key and value from a source file, with the line it came from. */
export interface SourceEntry {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

/** How to read a source. */
export interface SourceOptions {
  /** Fold keys to lower case (postmap's default; -f turns it off). */
  readonly foldKeys?: boolean;
  /** Warn about duplicate keys (postmap -w and -r turn it off). */
  readonly warnDuplicates?: boolean;
  /** Later duplicates replace earlier ones (postmap -r); by default the first is kept. */
  readonly replaceDuplicates?: boolean;
  /** What duplicate warnings name instead of "file, line N" (the indexed file, as postmap builds report). */
  readonly duplicateWhere?: string;
}

/** Adds key=value to entries per the duplicate options; shared by the table and alias readers. */
export function addSourceEntry(
  entries: Map<string, SourceEntry>,
  entry: SourceEntry,
  name: string,
  options: SourceOptions,
): void {
  if (entries.has(entry.key)) {
    if (options.warnDuplicates ?? true) {
      const where = options.duplicateWhere ?? `${name}, line ${entry.line}`;
      msg.warn(`${where}: duplicate entry: "${entry.key}"`);
    }
    if (options.replaceDuplicates !== true) return;
  }
  entries.set(entry.key, entry);
}

/** Parses source text; name is what warnings call the file. */
export function parseTableSource(text: string, name: string, options: SourceOptions = {}): SourceEntry[] {
  const fold = options.foldKeys ?? true;
  const entries = new Map<string, SourceEntry>();
  for (const logical of logicalLines(text)) {
    const match = /^(\S+)\s+(.*)$/.exec(logical.text);
    if (match === null) {
      msg.warn(`${name}, line ${logical.line}: expected format: key whitespace value`);
      continue;
    }
    const key = fold ? (match[1] as string).toLowerCase() : (match[1] as string);
    addSourceEntry(entries, { key, value: (match[2] as string).trim(), line: logical.line }, name, options);
  }
  return [...entries.values()];
}

/** The text of a source file; a missing or unreadable file is an error naming it. */
export function readSourceText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (err as Error).message;
    throw new PetrelError('table_open', `open ${path}: ${reason}`, { cause: err });
  }
}

/** Reads the source file at path. */
export function readTableSource(path: string, options: SourceOptions = {}): SourceEntry[] {
  return parseTableSource(readSourceText(path), path, options);
}
