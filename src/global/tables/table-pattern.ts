/*
 * table-pattern - the shared engine of the regexp: and pcre: table types
 * (regexp_table(5), pcre_table(5)): reads "/pattern/flags result",
 * "!/pattern/flags result", "if /pattern/flags" ... "endif" (nesting), any
 * non-alphanumeric delimiter, continuation lines and comments; a table may
 * also be given inline as type:{ {rule}, {rule} }. The first matching rule
 * wins and $1, ${1}, $(1) in its result are replaced by the captured text
 * ($$ is a dollar). A bad rule is skipped with a "file, line N" warning, as
 * Postfix does. A changed file is re-read on the next lookup.
 */
import { logicalLines } from '../config/config-lines.js';
import { msg } from '../../util/msg.js';
import { openRuleTable } from './table-file-watch.js';
import type { LookupTable, MatchProgress } from './table.js';

/** What differs between regexp and pcre: the name in warnings and how a pattern compiles. */
export interface PatternDialect {
  readonly type: 'regexp' | 'pcre';
  /** Compiles pattern with its flag letters; throws SyntaxError for a bad pattern or flag (message used in the warning). */
  compile(pattern: string, flags: string, warn: (text: string) => void): RegExp;
}

type Rule =
  | { readonly kind: 'match'; readonly regex: RegExp; readonly text: string; readonly negate: boolean; readonly result: string }
  | { readonly kind: 'if'; readonly regex: RegExp; readonly text: string; readonly negate: boolean; readonly rules: Rule[] };

/** Splits "/pattern/flags rest" (any delimiter); undefined when the closing delimiter is missing. */
function splitPattern(text: string): { pattern: string; flags: string; rest: string } | undefined {
  const delimiter = text[0] as string;
  let i = 1;
  for (; i < text.length && text[i] !== delimiter; i++) if (text[i] === '\\') i++;
  if (i >= text.length) return undefined;
  const after = text.slice(i + 1);
  const flags = /^\S*/.exec(after)?.[0] ?? '';
  return { pattern: text.slice(1, i), flags, rest: after.slice(flags.length).trim() };
}

function groupCount(regex: RegExp): number {
  return (new RegExp(`${regex.source}|`).exec('') as RegExpExecArray).length - 1;
}

/** Checks $n references against the pattern's groups; returns a problem or undefined. */
function checkSubstitutions(result: string, groups: number): string | undefined {
  for (const match of result.matchAll(/\$(?:(\d+)|\{(\d+)\}|\((\d+)\))/g)) {
    const index = Number(match[1] ?? match[2] ?? match[3]);
    if (index > groups) return `out of range replacement index "${index}"`;
  }
  return undefined;
}

/** Parses table text into rules; where names the table in warnings. */
export function parsePatternRules(text: string, where: string, dialect: PatternDialect): Rule[] {
  const top: Rule[] = [];
  const stack: Rule[][] = [top];
  for (const { text: line, line: number } of logicalLines(text)) {
    const warn = (problem: string): void => msg.warn(`${dialect.type} map ${where}, line ${number}: ${problem}`);
    if (/^endif$/i.test(line)) {
      if (stack.length === 1) warn('ignoring ENDIF without matching IF');
      else stack.pop();
      continue;
    }
    const isIf = /^if\s/i.test(line);
    let body = isIf ? line.slice(2).trim() : line;
    const negate = body.startsWith('!');
    if (negate) body = body.slice(1).trimStart();
    if (body === '' || /[\sA-Za-z0-9]/.test(body[0] as string)) {
      warn(`malformed pattern or missing delimiter: "${line}": skipping this rule`);
      continue;
    }
    const parts = splitPattern(body);
    if (parts === undefined) {
      warn(`missing closing delimiter "${body[0] as string}": skipping this rule`);
      continue;
    }
    let regex: RegExp;
    try {
      regex = dialect.compile(parts.pattern, parts.flags, warn);
    } catch (err) {
      warn(`${(err as Error).message}: skipping this rule`);
      continue;
    }
    const current = stack[stack.length - 1] as Rule[];
    const shown = `${body[0] as string}${parts.pattern}${body[0] as string}`;
    if (isIf) {
      if (parts.rest !== '') warn(`ignoring extra text after IF: "${parts.rest}"`);
      const rule: Rule = { kind: 'if', regex, text: shown, negate, rules: [] };
      current.push(rule);
      stack.push(rule.rules);
      continue;
    }
    if (parts.rest === '') warn('no replacement text: using empty string');
    const problem = negate ? undefined : checkSubstitutions(parts.rest, groupCount(regex));
    if (problem !== undefined) {
      warn(`${problem}: skipping this rule`);
      continue;
    }
    current.push({ kind: 'match', regex, text: shown, negate, result: parts.rest });
  }
  if (stack.length > 1) msg.warn(`${dialect.type} map ${where}: IF has no matching ENDIF`);
  return top;
}

function substitute(result: string, match: RegExpExecArray): string {
  return result.replace(/\$(?:\$|(\d+)|\{(\d+)\}|\((\d+)\))/g, (_all, a?: string, b?: string, c?: string) => {
    const index = a ?? b ?? c;
    return index === undefined ? '$' : (match[Number(index)] ?? '');
  });
}

function test(regex: RegExp, key: string): RegExpExecArray | null {
  regex.lastIndex = 0;
  return regex.exec(key);
}

/** The result of the first rule that matches key, or undefined; progress learns each pattern before it is tried. */
export function matchPatternRules(rules: readonly Rule[], key: string, progress?: MatchProgress): string | undefined {
  for (const rule of rules) {
    if (progress !== undefined) progress.rule = rule.text;
    const match = test(rule.regex, key);
    if (rule.kind === 'if') {
      if ((match !== null) !== rule.negate) {
        const inner = matchPatternRules(rule.rules, key, progress);
        if (inner !== undefined) return inner;
      }
    } else if (rule.negate && match === null) {
      return rule.result.replace(/\$\$/g, '$');
    } else if (!rule.negate && match !== null) {
      return substitute(rule.result, match);
    }
  }
  return undefined;
}

/** Opens a regexp: or pcre: table from a file or an inline { {rule}, {rule} } list. */
export async function openPatternTable(name: string, spec: string, dialect: PatternDialect): Promise<LookupTable> {
  return openRuleTable(name, spec, (text, where) => parsePatternRules(text, where, dialect), matchPatternRules);
}
