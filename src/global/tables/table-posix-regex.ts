/*
 * table-posix-regex - translates a POSIX regular expression (regexp_table(5):
 * extended syntax by default, basic syntax when the x flag toggles it off)
 * into a JavaScript RegExp source: bracket expressions with [:class:] names
 * and literal backslashes, GNU word boundaries \< and \>, and in basic syntax
 * the \( \) \{ \} groups and intervals. Used by the regexp table type.
 * JavaScript picks the leftmost alternative where POSIX picks the longest
 * match; $n captures can differ in rare alternations.
 */

const CLASSES: Readonly<Record<string, string>> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: 'A-Za-z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\n\\r\\f\\v',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  print: ' -~',
  graph: '!-~',
  cntrl: '\\x00-\\x1f\\x7f',
  xdigit: '0-9A-Fa-f',
  word: 'A-Za-z0-9_',
};

/** Escapes one literal character for use inside a JavaScript character class. */
function classChar(ch: string): string {
  return /[\\\]\[^-]/.test(ch) ? `\\${ch}` : ch;
}

/** Translates the bracket expression starting at pattern[start] === '['; returns the JS class and the index after it. */
export function translateBracket(pattern: string, start: number): { source: string; end: number } {
  let i = start + 1;
  let out = '[';
  if (pattern[i] === '^') {
    out += '^';
    i++;
  }
  let first = true;
  while (i < pattern.length) {
    const ch = pattern[i] as string;
    if (ch === ']' && !first) return { source: `${out}]`, end: i + 1 };
    first = false;
    if (ch === '[' && (pattern[i + 1] === ':' || pattern[i + 1] === '.' || pattern[i + 1] === '=')) {
      const kind = pattern[i + 1] as string;
      const close = pattern.indexOf(`${kind}]`, i + 2);
      if (close < 0) throw new SyntaxError('unterminated [: :] in bracket expression');
      const name = pattern.slice(i + 2, close);
      if (kind === ':') {
        const members = CLASSES[name];
        if (members === undefined) throw new SyntaxError(`unknown character class [:${name}:]`);
        out += members;
      } else {
        out += [...name].map(classChar).join('');
      }
      i = close + 2;
      continue;
    }
    if (ch === '-' && out.length > 1 && pattern[i + 1] !== ']') out += '-';
    else out += classChar(ch);
    i++;
  }
  throw new SyntaxError('unmatched [ in bracket expression');
}

/** The JavaScript source for a POSIX extended (or, when basic, basic) regular expression. */
export function posixToJs(pattern: string, basic: boolean): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '[') {
      const { source, end } = translateBracket(pattern, i);
      out += source;
      i = end - 1;
    } else if (ch === '\\') {
      const next = pattern[++i];
      if (next === undefined) throw new SyntaxError('trailing backslash');
      if (next === '<' || next === '>') out += '\\b';
      else if (basic && '(){}|+?'.includes(next)) out += next;
      else out += `\\${next}`;
    } else if (basic && '(){}|+?'.includes(ch)) {
      out += `\\${ch}`;
    } else if (ch === '/') {
      out += '\\/';
    } else {
      out += ch;
    }
  }
  return out;
}
