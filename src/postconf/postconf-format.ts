/*
 * postconf-format - the output shapes postconf shares between main.cf and
 * master.cf listings: Postfix's master.cf column layout and folding of long
 * lines at 80 columns with 4-space continuation indents (postconf -f).
 */

/** Folded lines stay shorter than this, as Postfix's do. */
const FOLD_WIDTH = 80;
/** The indent of a continuation line. */
export const INDENT = '    ';

/** Joins words on one line, wrapping before a word that would reach column 80 (continuations indented). */
export function foldWords(first: string, words: readonly string[]): string {
  const lines: string[] = [];
  let line = first;
  for (const word of words) {
    if (line.length + 1 + word.length >= FOLD_WIDTH) {
      lines.push(line);
      line = INDENT + word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join('\n');
}

/** The start column of each master.cf field, as Postfix prints them. */
const MASTER_COLUMNS = [0, 11, 17, 25, 33, 41, 49, 57];

/** Lays out the 8 master.cf fields in Postfix's columns; a long field pushes the next one right. */
export function masterColumns(fields: readonly string[]): string {
  let line = '';
  fields.forEach((field, index) => {
    const target = MASTER_COLUMNS[index] ?? 0;
    const start = index === 0 ? 0 : Math.max(target, line.length + 1);
    line = line.padEnd(start) + field;
  });
  return line;
}
