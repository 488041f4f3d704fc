/*
 * postconf-master - postconf's master.cf modes (postconf(1) -M, -Mf, -P,
 * -Me, -MX, -M#): select entries by "service" or "service/type", print them
 * in Postfix's column layout, and edit the file in place keeping every other
 * line as it was. Called by postconf-main.ts.
 */
import { readFileSync } from 'node:fs';
import { PetrelError } from '../global/errors.js';
import { parseMasterCf, type MasterEntry } from '../global/config/master-cf-read.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { msg } from '../util/msg.js';
import { foldWords, INDENT, masterColumns } from './postconf-format.js';

/** The entries a request such as "smtp", "smtp/inet" or "" (all) selects. */
function matches(entry: MasterEntry, request: string): boolean {
  const [service, type] = request.split('/');
  return entry.service === service && (type === undefined || entry.type === type);
}

/** Selects entries for requests (all when none); an unmatched request is warned about, as Postfix does. */
export function selectEntries(entries: readonly MasterEntry[], requests: readonly string[]): MasterEntry[] {
  if (requests.length === 0) return [...entries];
  for (const request of requests) {
    if (!entries.some((entry) => matches(entry, request))) msg.warn(`unmatched request: "${request}"`);
  }
  return entries.filter((entry) => requests.some((request) => matches(entry, request)));
}

/** One entry as postconf -M prints it; fold puts each -o on its own line and wraps at 80 columns. */
export function formatEntry(entry: MasterEntry, fold: boolean): string {
  const head = masterColumns(entry.columns);
  if (!fold) return [head, ...entry.argv].join(' ');
  const blocks: string[] = [];
  let words: string[] = [];
  let first = head;
  const flush = (): void => {
    if (first !== '') blocks.push(foldWords(first, words));
    else if (words.length > 0) blocks.push(foldWords(INDENT + (words[0] as string), words.slice(1)));
  };
  for (let i = 0; i < entry.argv.length; i++) {
    const word = entry.argv[i] as string;
    if (word === '-o' && i + 1 < entry.argv.length) {
      flush();
      blocks.push(`    -o ${entry.argv[++i] as string}`);
      first = '';
      words = [];
    } else {
      words.push(word);
    }
  }
  flush();
  return blocks.join('\n');
}

/** The -P lines: service/type/name = value for each -o override, or for the service/type/name requests given. */
export function formatOverrides(entries: readonly MasterEntry[], requests: readonly string[]): string[] {
  const lines: string[] = [];
  const matched = new Set<string>();
  for (const entry of entries) {
    const sorted = [...entry.overrides].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [name, value] of sorted) {
      const key = `${entry.service}/${entry.type}/${name}`;
      if (requests.length > 0 && !requests.includes(key)) continue;
      matched.add(key);
      lines.push(value === '' ? `${key} =` : `${key} = ${value}`);
    }
  }
  for (const request of requests) if (!matched.has(request)) msg.warn(`unmatched request: "${request}"`);
  return lines;
}

/** How an edit treats the selected entries. */
export type MasterEdit = { kind: 'replace'; entries: ReadonlyMap<string, string> } | { kind: 'remove' | 'comment'; requests: readonly string[] };

/** Applies an edit to master.cf at path and writes it back atomically. */
export function editMasterCf(path: string, edit: MasterEdit): void {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || edit.kind !== 'replace') {
      throw new PetrelError('config', `open ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const entries = parseMasterCf(text, path);
  const result: (string | undefined)[] = [...lines];
  if (edit.kind === 'replace') {
    for (const [key, replacement] of edit.entries) {
      parseMasterCf(replacement, `${path} (new entry for ${key})`);
      const existing = entries.find((entry) => `${entry.service}/${entry.type}` === key);
      if (existing === undefined) {
        result.push(replacement);
        continue;
      }
      result[existing.line - 1] = replacement;
      for (let n = existing.line; n < existing.lastLine; n++) result[n] = undefined;
    }
  } else {
    for (const entry of selectEntries(entries, edit.requests)) {
      for (let n = entry.line - 1; n < entry.lastLine; n++) {
        result[n] = edit.kind === 'remove' ? undefined : `#${lines[n] as string}`;
      }
    }
  }
  writeFileAtomic(path, `${result.filter((line) => line !== undefined).join('\n')}\n`);
}
