/*
 * alias-source - the aliases(5) file format: "name: value, value, ...",
 * continuation lines, comments, names in double quotes when they hold
 * special characters, names folded to lower case and required to be local
 * (no @domain). Also splits an alias value into its destinations (addresses,
 * "|command", /file/name, :include:/file/name) with commas inside double
 * quotes kept, for local delivery and .forward files. Used by postalias and
 * newaliases; follows aliases(5).
 */
import { logicalLines } from '../config/config-lines.js';
import { msg } from '../../util/msg.js';
import { addSourceEntry, readSourceText, type SourceEntry, type SourceOptions } from './table-source.js';

/** Splits "name: value" honouring quotes in the name; undefined when there is no unquoted colon. */
function splitAliasLine(text: string): { name: string; value: string } | undefined {
  let name = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '"') quoted = !quoted;
    else if (ch === '\\' && quoted && i + 1 < text.length) name += text[++i];
    else if (ch === ':' && !quoted) return { name: name.trim(), value: text.slice(i + 1).trim() };
    else name += ch;
  }
  return undefined;
}

/** Parses aliases text; name is what warnings call the file. */
export function parseAliases(text: string, name: string, options: SourceOptions = {}): SourceEntry[] {
  const entries = new Map<string, SourceEntry>();
  for (const logical of logicalLines(text)) {
    const parts = splitAliasLine(logical.text);
    if (parts === undefined || parts.name === '' || parts.value === '') {
      msg.warn(`${name}, line ${logical.line}: need name:value pair`);
      continue;
    }
    if (parts.name.includes('@')) {
      msg.warn(`${name}, line ${logical.line}: name must be local`);
      continue;
    }
    const key = (options.foldKeys ?? true) ? parts.name.toLowerCase() : parts.name;
    addSourceEntry(entries, { key, value: normalizeAliasValue(parts.value), line: logical.line }, name, options);
  }
  return [...entries.values()];
}

/** Reads the aliases file at path. */
export function readAliases(path: string, options: SourceOptions = {}): SourceEntry[] {
  return parseAliases(readSourceText(path), path, options);
}

/** Splits on commas outside double quotes; items trimmed, quotes kept. */
function splitOutsideQuotes(value: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (ch === '"') {
      quoted = !quoted;
      current += ch;
    } else if (ch === '\\' && i + 1 < value.length) {
      current += ch + (value[++i] as string);
    } else if (ch === ',' && !quoted) {
      if (current.trim() !== '') items.push(current.trim());
      current = '';
    } else {
      current += ch;
    }
  }
  if (current.trim() !== '') items.push(current.trim());
  return items;
}

/** An alias value as postalias stores it: destinations joined by ", ", white space outside quotes collapsed. */
export function normalizeAliasValue(value: string): string {
  return splitOutsideQuotes(value)
    .map((item) => item.replace(/("(?:[^"\\]|\\.)*")|\s+/g, (_all, quoted?: string) => quoted ?? ' '))
    .join(', ');
}

/** The destinations in an alias value or .forward line: split on commas outside double quotes, quotes taken off. */
export function splitAliasValue(value: string): string[] {
  return splitOutsideQuotes(value).map((item) => (item.length >= 2 && item.startsWith('"') && item.endsWith('"') ? item.slice(1, -1) : item));
}
