/*
 * table-expand - the key and result handling that the tables with a client
 * configuration file share (mysql_table(5), pgsql_table(5),
 * sqlite_table(5), and Petrel's redis:): the %-templates of query /
 * key_format and result_format, and the "domain" filter that decides which
 * keys are looked up at all. Template codes: %% a literal %, %s the key
 * (the value in result_format), %u its local part (the whole text when it
 * has no @), %d its domain, %1..%9 the domain's labels counted from the
 * right; in result_format %S %U %D and %1..%9 take the key and %s %u %d the
 * value. A code whose part is missing (an empty local part, no domain, too
 * few labels) suppresses the lookup, or skips the value. Follows Postfix's
 * db_common(3).
 */
import { readFileSync } from 'node:fs';
import { splitList } from '../config/param-convert.js';
import { PetrelError } from '../errors.js';
import { openTableList, type TableList } from './table-list.js';
import type { TableOpenContext } from './table.js';

/** One piece of a template: literal text or a % code. */
type TemplatePart = { readonly text: string } | { readonly code: string };

/** A parsed %-template. */
export interface ExpansionTemplate {
  /** The template as written. */
  readonly source: string;
  readonly parts: readonly TemplatePart[];
}

/** Escapes one substituted piece (SQL string quoting, for example); the identity when nothing needs escaping. */
export type QuoteFn = (text: string) => string;

const CODES = /^[sudSUD1-9]$/;

/** Parses template; an unknown % code is a configuration error naming where (file and parameter). */
export function parseTemplate(template: string, where: string): ExpansionTemplate {
  const parts: TemplatePart[] = [];
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i] as string;
    if (ch !== '%') {
      text += ch;
      continue;
    }
    const code = template[++i];
    if (code === '%') {
      text += '%';
      continue;
    }
    if (code === undefined || !CODES.test(code)) {
      throw new PetrelError('config', `${where}: invalid %-sequence "%${code ?? ''}" in "${template}"`);
    }
    if (text !== '') parts.push({ text });
    text = '';
    parts.push({ code });
  }
  if (text !== '') parts.push({ text });
  return { source: template, parts };
}

/** The part of text a lower-case code (s, u, d) or a label number names, or undefined when it is missing. */
function partOf(text: string, code: string): string | undefined {
  const at = text.lastIndexOf('@');
  switch (code) {
    case 's':
      return text;
    case 'u':
      if (at < 0) return text;
      return at === 0 ? undefined : text.slice(0, at);
    case 'd':
      return at < 0 || at === text.length - 1 ? undefined : text.slice(at + 1);
    default: {
      if (at < 0) return undefined;
      const labels = text.slice(at + 1).split('.');
      return labels[labels.length - Number(code)] || undefined;
    }
  }
}

function expand(template: ExpansionTemplate, pick: (code: string) => string | undefined): string | undefined {
  let out = '';
  for (const part of template.parts) {
    if ('text' in part) {
      out += part.text;
      continue;
    }
    const value = pick(part.code);
    if (value === undefined) return undefined;
    out += value;
  }
  return out;
}

/** template with every code taken from key (query, key_format); undefined when the lookup is to be suppressed. */
export function expandKey(template: ExpansionTemplate, key: string, quote: QuoteFn = (text) => text): string | undefined {
  return expand(template, (code) => {
    const part = partOf(key, code.toLowerCase());
    return part === undefined ? undefined : quote(part);
  });
}

/** result_format applied to one result value; undefined when the value is to be skipped (empty, or a part missing). */
export function expandResult(template: ExpansionTemplate, value: string, key: string): string | undefined {
  if (value === '') return undefined;
  return expand(template, (code) => (code === 's' || code === 'u' || code === 'd' ? partOf(value, code) : partOf(key, code.toLowerCase())));
}

/** The "domain" parameter: which keys a table looks up. */
export interface DomainFilter {
  /** True when key is user@domain with a non-empty user and a listed domain (always true without a list). */
  eligible(key: string): Promise<boolean>;
  close(): Promise<void>;
}

/** An item of the list: a domain name or a table, possibly negated with "!". */
interface DomainItem {
  readonly negated: boolean;
  readonly name?: string;
  readonly table?: TableList;
}

/**
 * Opens the filter of a "domain" parameter given as its list items: domain
 * names (matched whole, without parent domains), /file/name items (read for
 * more items) and type:name tables (a domain found there matches); "!item"
 * excludes; the first item that matches decides.
 */
export async function openDomainFilter(items: readonly string[], ctx: TableOpenContext, where: string): Promise<DomainFilter> {
  const expanded = items.flatMap((item) => {
    const bare = item.replace(/^!/, '');
    if (!bare.startsWith('/')) return [item];
    let text: string;
    try {
      text = readFileSync(bare, 'utf8');
    } catch (err) {
      throw new PetrelError('table_open', `${where}: open ${bare}: ${(err as Error).message}`, { temporary: true, cause: err });
    }
    const negation = item.startsWith('!') ? '!' : '';
    return text.split('\n').flatMap((line) => splitList(line.replace(/#.*$/, '')).map((name) => negation + name));
  });
  const list: DomainItem[] = [];
  try {
    for (const item of expanded) {
      const negated = item.startsWith('!');
      const bare = negated ? item.slice(1) : item;
      if (/^[A-Za-z0-9_-]+:/.test(bare)) list.push({ negated, table: await openTableList([bare], ctx) });
      else list.push({ negated, name: bare.toLowerCase() });
    }
  } catch (err) {
    await Promise.all(list.map((item) => item.table?.close()));
    throw err;
  }
  return {
    async eligible(key) {
      if (list.length === 0) return true;
      const at = key.lastIndexOf('@');
      if (at <= 0) return false;
      const domain = key.slice(at + 1).toLowerCase();
      for (const item of list) {
        const matched = item.table !== undefined ? (await item.table.lookup(domain)) !== undefined : item.name === domain;
        if (matched) return !item.negated;
      }
      return false;
    },
    async close() {
      await Promise.all(list.map((item) => item.table?.close()));
    },
  };
}
