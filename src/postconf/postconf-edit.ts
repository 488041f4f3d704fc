/*
 * postconf-edit - postconf's main.cf editors (postconf(1) -e, -X, -#):
 * change, remove or comment out settings while every other line, comment
 * and the order stay as written; a setting with continuation lines is
 * handled as one. New names are appended. The file is replaced atomically.
 * Called by postconf-main.ts.
 */
import { readFileSync } from 'node:fs';
import { logicalLines } from '../global/config/config-lines.js';
import { PetrelError } from '../global/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { msg } from '../util/msg.js';

/** What to do to main.cf. */
export type MainCfEdit =
  | { readonly kind: 'set'; readonly values: ReadonlyMap<string, string> }
  | { readonly kind: 'remove' | 'comment'; readonly names: readonly string[] };

/** Splits a -e argument "name=value" or "name = value". */
export function parseAssignment(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq < 0) throw new PetrelError('usage', `missing '=' after attribute name: "${text}"`);
  return [text.slice(0, eq).trim(), text.slice(eq + 1).trim()];
}

/** Applies edit to the text of main.cf; path is for warnings. */
export function editMainCfText(text: string, path: string, edit: MainCfEdit): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const result: (string | undefined)[] = [...lines];
  const targets = edit.kind === 'set' ? [...edit.values.keys()] : edit.names;
  const seen = new Map<string, number>();
  for (const logical of logicalLines(text)) {
    const eq = logical.text.indexOf('=');
    const name = eq < 0 ? '' : logical.text.slice(0, eq).trim();
    if (!targets.includes(name)) continue;
    seen.set(name, (seen.get(name) ?? 0) + 1);
    for (let n = logical.line - 1; n < logical.lastLine; n++) {
      const original = lines[n] as string;
      if (/^\s*#/.test(original) || original.trim() === '') continue;
      if (edit.kind === 'comment') result[n] = `#${original}`;
      else if (edit.kind === 'set' && n === logical.line - 1) result[n] = `${name} = ${edit.values.get(name) as string}`;
      else result[n] = undefined;
    }
  }
  for (const [name, count] of seen) if (count > 1) msg.warn(`${path}: multiple entries for "${name}"`);
  if (edit.kind === 'set') {
    for (const [name, value] of edit.values) if (!seen.has(name)) result.push(`${name} = ${value}`);
  }
  const kept = result.filter((line) => line !== undefined);
  return kept.length === 0 ? '' : `${kept.join('\n')}\n`;
}

/** Edits the main.cf at path in place. */
export function editMainCf(path: string, edit: MainCfEdit): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PetrelError('config', `open ${path}: ${(err as Error).message}`, { cause: err });
  }
  writeFileAtomic(path, editMainCfText(text, path, edit));
}
