/*
 * table-braces - the "{ item, { item with spaces } }" lists that inline:,
 * static:, unionmap:, pipemap: and inline regexp:/pcre:/cidr: tables take in
 * place of a file name (Postfix 3.x): the outer braces are required, items
 * are separated by commas or white space, and an item in its own braces keeps
 * its spaces and commas (the braces and surrounding blanks are dropped).
 */
import { splitList } from '../config/param-convert.js';
import { PetrelError } from '../errors.js';

/** The items of a braced list; spec names the table in errors. */
export function splitBraceList(text: string, spec: string): string[] {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) {
    throw new PetrelError('table_spec', `${spec}: expected a list in { }`);
  }
  let depth = 0;
  for (let i = 0; i < trimmed.length; i++) {
    if (trimmed[i] === '{') depth++;
    else if (trimmed[i] === '}' && --depth === 0 && i !== trimmed.length - 1) {
      throw new PetrelError('table_spec', `${spec}: unexpected text after "}"`);
    }
  }
  if (depth !== 0) throw new PetrelError('table_spec', `${spec}: unbalanced { }`);
  return splitList(trimmed.slice(1, -1)).map((item) => (item.startsWith('{') && item.endsWith('}') ? item.slice(1, -1).trim() : item));
}
