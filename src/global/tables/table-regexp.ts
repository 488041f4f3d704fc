/*
 * table-regexp - regexp:/path (regexp_table(5)): POSIX regular expressions
 * with the flags i (case-insensitive, on by default), m (multi-line, off)
 * and x (extended syntax, on; off selects basic syntax). The rule engine is
 * table-pattern.ts; the translation is table-posix-regex.ts.
 */
import { openPatternTable, type PatternDialect } from './table-pattern.js';
import { posixToJs } from './table-posix-regex.js';
import type { LookupTable } from './table.js';

/** The regexp: dialect of the shared pattern engine. */
export const REGEXP_DIALECT: PatternDialect = {
  type: 'regexp',
  compile(pattern, flags) {
    let caseless = true;
    let multiline = false;
    let extended = true;
    for (const letter of flags) {
      if (letter === 'i') caseless = !caseless;
      else if (letter === 'm') multiline = !multiline;
      else if (letter === 'x') extended = !extended;
      else throw new SyntaxError(`unknown regexp option "${letter}"`);
    }
    // POSIX: "." matches a newline unless REG_NEWLINE (the m flag) is set.
    const js = `${caseless ? 'i' : ''}${multiline ? 'm' : 's'}`;
    return new RegExp(posixToJs(pattern, !extended), js);
  },
};

/** Opens regexp:name. */
export function openRegexp(name: string, spec: string): Promise<LookupTable> {
  return openPatternTable(name, spec, REGEXP_DIALECT);
}
