/*
 * table-pcre-regex - translates a PCRE pattern with pcre_table(5) flags into
 * a JavaScript RegExp: x (ignore white space, # comments) and U (swap
 * greediness) rewrite the pattern; $ matches before a final newline unless
 * E or m is set, as in PCRE; \A \z \Z \h \H \Q..\E and (?P<name>) are
 * rewritten; leading (?i) style modifiers become flags. Constructs
 * JavaScript lacks (possessive quantifiers, atomic groups, inline modifiers
 * elsewhere) fail to compile and the rule is skipped with a warning.
 * Used by the pcre table type.
 */

/** pcre_table flag state after toggles. */
export interface PcreFlags {
  caseless: boolean;
  multiline: boolean;
  dotall: boolean;
  extended: boolean;
  anchored: boolean;
  dollarEndOnly: boolean;
  ungreedy: boolean;
}

function escapeLiteral(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** Copies a character class starting at '[' verbatim; returns it and the index after it. */
function copyClass(pattern: string, start: number): { text: string; end: number } {
  let i = start + 1;
  if (pattern[i] === '^') i++;
  if (pattern[i] === ']') i++;
  while (i < pattern.length && pattern[i] !== ']') {
    if (pattern[i] === '\\') i++;
    else if (pattern[i] === '[' && pattern[i + 1] === ':') {
      const close = pattern.indexOf(':]', i + 2);
      if (close > 0) i = close + 1;
    }
    i++;
  }
  return { text: pattern.slice(start, i + 1), end: i + 1 };
}

/** Applies leading (?imsxU) modifiers to the flags and returns the rest of the pattern. */
function leadingModifiers(pattern: string, flags: PcreFlags): string {
  const match = /^\(\?([imsxU]+)\)/.exec(pattern);
  if (match === null) return pattern;
  for (const letter of match[1] as string) {
    if (letter === 'i') flags.caseless = true;
    else if (letter === 'm') flags.multiline = true;
    else if (letter === 's') flags.dotall = true;
    else if (letter === 'x') flags.extended = true;
    else flags.ungreedy = true;
  }
  return pattern.slice(match[0].length);
}

/** Compiles a PCRE pattern under flags into a JavaScript RegExp (throws SyntaxError when it cannot). */
export function compilePcre(pattern: string, initial: PcreFlags): RegExp {
  const flags = { ...initial };
  const body = leadingModifiers(pattern, flags);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] as string;
    if (ch === '\\') {
      const next = body[++i];
      if (next === undefined) throw new SyntaxError('\\ at end of pattern');
      if (next === 'Q') {
        const end = body.indexOf('\\E', i + 1);
        const literal = body.slice(i + 1, end < 0 ? body.length : end);
        out += escapeLiteral(literal);
        i = end < 0 ? body.length : end + 1;
      } else if (next === 'A') out += '(?<![\\s\\S])';
      else if (next === 'z') out += '(?![\\s\\S])';
      else if (next === 'Z') out += '(?=\\n?(?![\\s\\S]))';
      else if (next === 'h') out += '[ \\t]';
      else if (next === 'H') out += '[^ \\t]';
      else out += `\\${next}`;
    } else if (ch === '[') {
      const { text, end } = copyClass(body, i);
      out += text;
      i = end - 1;
    } else if (flags.extended && /\s/.test(ch)) {
      continue;
    } else if (flags.extended && ch === '#') {
      break;
    } else if (ch === '$' && !flags.multiline && !flags.dollarEndOnly) {
      out += '(?=\\n?(?![\\s\\S]))';
    } else if (ch === '(' && body.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
    } else if (ch === '(' && body.startsWith('(?P=', i)) {
      const close = body.indexOf(')', i);
      out += `\\k<${body.slice(i + 4, close)}>`;
      i = close;
    } else if (flags.ungreedy && /[*+?}]/.test(ch) && !(ch === '?' && out.endsWith('('))) {
      out += ch;
      if (body[i + 1] === '?') i++;
      else out += '?';
    } else {
      out += ch;
    }
  }
  const jsFlags = `${flags.caseless ? 'i' : ''}${flags.multiline ? 'm' : ''}${flags.dotall ? 's' : ''}${flags.anchored ? 'y' : ''}`;
  return new RegExp(out, jsFlags);
}
