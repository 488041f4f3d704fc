/*
 * table-pcre - pcre:/path (pcre_table(5)): Perl-compatible patterns with
 * the flags i (case-insensitive, on by default), m, s (dot matches newline,
 * on by default), x, A, E and U, each letter toggling; X is obsolete and
 * ignored with a warning, as Postfix built with PCRE2 does. The rule engine
 * is table-pattern.ts; the translation is table-pcre-regex.ts.
 */
import { compilePcre, type PcreFlags } from './table-pcre-regex.js';
import { openPatternTable, type PatternDialect } from './table-pattern.js';
import type { LookupTable } from './table.js';

const TOGGLES: Readonly<Record<string, keyof PcreFlags>> = {
  i: 'caseless',
  m: 'multiline',
  s: 'dotall',
  x: 'extended',
  A: 'anchored',
  E: 'dollarEndOnly',
  U: 'ungreedy',
};

/** The pcre: dialect of the shared pattern engine. */
export const PCRE_DIALECT: PatternDialect = {
  type: 'pcre',
  compile(pattern, letters, warn) {
    const flags: PcreFlags = {
      caseless: true,
      multiline: false,
      dotall: true,
      extended: false,
      anchored: false,
      dollarEndOnly: false,
      ungreedy: false,
    };
    for (const letter of letters) {
      const toggle = TOGGLES[letter];
      if (toggle !== undefined) flags[toggle] = !flags[toggle];
      else if (letter === 'X') warn(`ignoring obsolete regexp option "X"`);
      else throw new SyntaxError(`unknown regexp option "${letter}"`);
    }
    return compilePcre(pattern, flags);
  },
};

/** Opens pcre:name. */
export function openPcre(name: string, spec: string): Promise<LookupTable> {
  return openPatternTable(name, spec, PCRE_DIALECT);
}
