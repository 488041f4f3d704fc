/*
 * config-lines - splits a Postfix configuration file into logical lines:
 * a line whose first non-blank character is # is a comment, blank lines are
 * skipped, and a line starting with white space continues the previous
 * logical line; the continuation is appended as written, its leading white
 * space included. Each logical line keeps the number of its first physical
 * line for error messages. Used by the main.cf and master.cf readers and by
 * table source readers; follows Postfix's readlline(3) rules.
 */

/** One logical line: its text with continuation lines appended as written (only the newlines dropped), and where it started. */
export interface LogicalLine {
  readonly text: string;
  /** The 1-based number of its first physical line. */
  readonly line: number;
  /** The 1-based number of its last physical line. */
  readonly lastLine: number;
}

/** True for a physical line that is a comment or blank. */
export function isCommentOrBlank(line: string): boolean {
  const trimmed = line.trimStart();
  return trimmed === '' || trimmed.startsWith('#');
}

/** Splits text into logical lines; onOrphan reports a continuation with nothing to continue. */
export function logicalLines(text: string, onOrphan?: (line: number, text: string) => void): LogicalLine[] {
  const result: LogicalLine[] = [];
  const physical = text.split('\n');
  let current: { text: string; line: number; lastLine: number } | undefined;
  for (let i = 0; i < physical.length; i++) {
    const raw = (physical[i] as string).replace(/\r$/, '');
    if (isCommentOrBlank(raw)) continue;
    if (raw[0] === ' ' || raw[0] === '\t') {
      if (current !== undefined) {
        current.text += raw.trimEnd();
        current.lastLine = i + 1;
        continue;
      }
      onOrphan?.(i + 1, raw);
    }
    if (current !== undefined) result.push(current);
    current = { text: raw.trimEnd(), line: i + 1, lastLine: i + 1 };
  }
  if (current !== undefined) result.push(current);
  return result;
}
