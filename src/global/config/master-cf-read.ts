/*
 * master-cf-read - reads master.cf (master(5)): per logical line the columns
 * service, type, private, unpriv, chroot, wakeup, maxproc and command, then
 * the command's arguments, where leading "-o name=value" and
 * "-o { name = value with spaces }" options become per-service parameter
 * overrides. "-" means the column's default. A bad line is an error naming
 * the file, the line and what is wrong. Called by master and postconf -M.
 */
import { readFileSync } from 'node:fs';
import { PetrelError } from '../errors.js';
import { logicalLines } from './config-lines.js';

/** The service types master.cf allows. */
export const SERVICE_TYPES = ['inet', 'unix', 'unix-dgram', 'fifo', 'pass'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

/** One master.cf entry; undefined columns were "-" (their default applies). */
export interface MasterEntry {
  readonly service: string;
  readonly type: ServiceType;
  readonly private?: boolean;
  readonly unpriv?: boolean;
  readonly chroot?: boolean;
  /** Seconds between wake-up triggers; conditional when written with "?" (only once the service was used). */
  readonly wakeup?: { readonly seconds: number; readonly conditional: boolean };
  readonly maxproc?: number;
  readonly command: string;
  /** Arguments after the command that are not -o overrides, in order. */
  readonly args: readonly string[];
  /** -o name=value overrides in order, values unexpanded. */
  readonly overrides: readonly (readonly [string, string])[];
  /** Every word after the command in order, -o options normalised as Postfix prints them (-o name=value, -o {name=value with spaces}). */
  readonly argv: readonly string[];
  /** The file lines the entry starts and ends on. */
  readonly line: number;
  readonly lastLine: number;
  /** The column texts as written (for postconf -M). */
  readonly columns: readonly string[];
}

/** One white-space separated word, or a { ... } group (its inside, trimmed). */
interface Word {
  readonly text: string;
  readonly grouped: boolean;
}

function splitWords(text: string, where: string): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === ' ' || ch === '\t') {
      i++;
    } else if (ch === '{') {
      let depth = 0;
      let end = i;
      for (; end < text.length; end++) {
        if (text[end] === '{') depth++;
        else if (text[end] === '}' && --depth === 0) break;
      }
      if (end >= text.length) throw new PetrelError('config', `${where}: missing '}' after "${text.slice(i)}"`);
      words.push({ text: text.slice(i + 1, end).trim(), grouped: true });
      i = end + 1;
    } else {
      let end = i;
      while (end < text.length && text[end] !== ' ' && text[end] !== '\t') end++;
      words.push({ text: text.slice(i, end), grouped: false });
      i = end;
    }
  }
  return words;
}

function yesNo(value: string, column: string, where: string): boolean | undefined {
  if (value === '-') return undefined;
  if (value === 'y') return true;
  if (value === 'n') return false;
  throw new PetrelError('config', `${where}: bad ${column} field: "${value}" (expected y, n or -)`);
}

/** Splits "name=value" (white space around = allowed inside braces). */
export function splitOverride(text: string, where: string): [string, string] {
  const eq = text.indexOf('=');
  const name = eq < 0 ? '' : text.slice(0, eq).trim();
  if (name === '' || /\s/.test(name)) {
    throw new PetrelError('config', `${where}: bad -o option "${text}" (expected name=value)`);
  }
  return [name, text.slice(eq + 1).trim()];
}

function parseEntry(text: string, line: number, lastLine: number, path: string): MasterEntry {
  const where = `${path}: line ${line}`;
  const words = splitWords(text, where);
  const names = ['service', 'type', 'private', 'unpriv', 'chroot', 'wakeup', 'maxproc', 'command'];
  if (words.length < names.length) {
    throw new PetrelError('config', `${where}: missing ${names[words.length]} field in "${text}"`);
  }
  const columns = words.slice(0, 8).map((word, index) => {
    if (word.grouped) throw new PetrelError('config', `${where}: the ${names[index]} field may not be a { } group`);
    return word.text;
  });
  const [service, type, priv, unpriv, chroot, wakeup, maxproc, command] = columns as [string, ...string[]];
  if (!(SERVICE_TYPES as readonly string[]).includes(type as string)) {
    throw new PetrelError('config', `${where}: bad transport type: "${type}" (expected ${SERVICE_TYPES.join(', ')})`);
  }
  const wake = /^(\d+)(\?)?$/.exec(wakeup as string);
  if (wakeup !== '-' && wake === null) throw new PetrelError('config', `${where}: bad wakeup time: "${wakeup}"`);
  if (maxproc !== '-' && !/^\d+$/.test(maxproc as string)) {
    throw new PetrelError('config', `${where}: bad process limit: "${maxproc}"`);
  }
  const args: string[] = [];
  const argv: string[] = [];
  const overrides: [string, string][] = [];
  const rest = words.slice(8);
  let options = true;
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i] as Word;
    if (options && !word.grouped && word.text === '-o') {
      const value = rest[++i];
      if (value === undefined) throw new PetrelError('config', `${where}: -o option without name=value`);
      const [name, text] = splitOverride(value.text, where);
      overrides.push([name, text]);
      argv.push('-o', /\s/.test(text) ? `{${name}=${text}}` : `${name}=${text}`);
      continue;
    }
    if (word.grouped || !word.text.startsWith('-')) options = false;
    const text = word.grouped ? `{${word.text}}` : word.text;
    args.push(text);
    argv.push(text);
  }
  return {
    service,
    type: type as ServiceType,
    private: yesNo(priv as string, 'private', where),
    unpriv: yesNo(unpriv as string, 'unpriv', where),
    chroot: yesNo(chroot as string, 'chroot', where),
    wakeup: wake === null ? undefined : { seconds: Number(wake[1]), conditional: wake[2] === '?' },
    maxproc: maxproc === '-' ? undefined : Number(maxproc),
    command: command as string,
    args,
    overrides,
    argv,
    line,
    lastLine,
    columns,
  };
}

/** Parses master.cf text; duplicate service/type pairs are an error. */
export function parseMasterCf(text: string, path: string): MasterEntry[] {
  const entries: MasterEntry[] = [];
  const seen = new Map<string, number>();
  for (const logical of logicalLines(text)) {
    const entry = parseEntry(logical.text, logical.line, logical.lastLine, path);
    const key = `${entry.service}/${entry.type}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new PetrelError('config', `${path}: line ${entry.line}: duplicate service ${key} (first at line ${earlier})`);
    }
    seen.set(key, entry.line);
    entries.push(entry);
  }
  return entries;
}

/** Reads and parses the master.cf at path. */
export function readMasterCf(path: string): MasterEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (err as Error).message;
    throw new PetrelError('config', `open ${path}: ${reason}`, { cause: err });
  }
  return parseMasterCf(text, path);
}
