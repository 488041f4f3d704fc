/*
 * table-sql-expand - the % templates of SQL tables: `query` (%s the key,
 * %u its local part or the whole key when it has no @, %d its domain, %1
 * to %9 the domain's labels from the right, %% a literal %; every
 * substitution quoted by the driver) and `result_format` (%s %u %d of each
 * value found, the upper-case and digit forms of the key). A key that
 * lacks a part the templates need (no domain for %d, an empty local part,
 * too few labels) is not looked up: "not found", as Postfix's
 * db_common(3). A value lacking a part result_format needs is skipped.
 * Used by table-sql.ts.
 */
import { PetrelError } from '../errors.js';

/** One piece of a template: literal text, or the code letter after a %. */
type Piece = { readonly text: string } | { readonly code: string };

/** A parsed query or result_format template. */
export interface SqlTemplate {
  readonly pieces: readonly Piece[];
}

const CODES = /^[sudSUD1-9]$/;

/** Parses template; an unknown % code is a configuration error naming the setting and file. */
export function parseSqlTemplate(template: string, setting: string, where: string): SqlTemplate {
  const pieces: Piece[] = [];
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
      throw new PetrelError('config', `${where}: invalid ${setting} template: ${template}`);
    }
    if (text !== '') pieces.push({ text });
    text = '';
    pieces.push({ code });
  }
  if (text !== '') pieces.push({ text });
  return { pieces };
}

/** The local part and domain of an address at its last @ (undefined domain when there is none). */
function split(address: string): { local: string; domain: string | undefined } {
  const at = address.lastIndexOf('@');
  return at < 0 ? { local: address, domain: undefined } : { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/** The value of a %s, %u, %d or %1-%9 code for text; undefined when text lacks that part. */
function part(code: string, text: string): string | undefined {
  const lower = code.toLowerCase();
  if (lower === 's') return text;
  const { local, domain } = split(text);
  if (lower === 'u') return domain === undefined || local !== '' ? local : undefined;
  if (domain === undefined || domain === '') return undefined;
  if (lower === 'd') return domain;
  const labels = domain.split('.');
  return labels[labels.length - Number(code)];
}

/** True when key has every part that the query and result_format's key codes (upper case, digits) need. */
export function keyHasParts(query: SqlTemplate, resultFormat: SqlTemplate, key: string): boolean {
  const needed = [
    ...query.pieces,
    ...resultFormat.pieces.filter((piece) => 'code' in piece && !/^[sud]$/.test(piece.code)),
  ];
  return needed.every((piece) => !('code' in piece) || part(piece.code, key) !== undefined);
}

/** The query for key, each substitution passed through quote; undefined when key lacks a needed part. */
export function expandQuery(query: SqlTemplate, key: string, quote: (text: string) => string): string | undefined {
  let sql = '';
  for (const piece of query.pieces) {
    if ('text' in piece) {
      sql += piece.text;
      continue;
    }
    const value = part(piece.code, key);
    if (value === undefined) return undefined;
    sql += quote(value);
  }
  return sql;
}

/** One value found, formatted; undefined when it is empty or lacks a part the format needs (skipped). */
export function formatResult(format: SqlTemplate, value: string, key: string): string | undefined {
  if (value === '') return undefined;
  let out = '';
  for (const piece of format.pieces) {
    if ('text' in piece) {
      out += piece.text;
      continue;
    }
    const found = /^[sud]$/.test(piece.code) ? part(piece.code, value) : part(piece.code, key);
    if (found === undefined) return undefined;
    out += found;
  }
  return out;
}
