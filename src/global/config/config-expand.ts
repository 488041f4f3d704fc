/*
 * config-expand - $name expansion in main.cf and master.cf values, as
 * Postfix's postconf(5) describes it: $name, ${name}, $(name), $$,
 * ${name?value}, ${name:value}, ${name?{value}:{value}} and the comparison
 * form ${{a} op {b} ? {value} : {value}} (==, !=, <, <=, >, >=, and the
 * compatibility-level forms <level, <=level, >level, >=level). A referenced
 * parameter's own value is expanded in turn; runaway nesting is an error.
 * Called by load-config.ts and by postconf -x.
 */
import { PetrelError } from '../errors.js';

/** Gives the unexpanded text of a parameter, or undefined when it is not set and has no default. */
export type RawValueSource = (name: string) => string | undefined;

const MAX_NESTING = 100;
const NAME_CHAR = /[A-Za-z0-9_]/;
const COMPARISON = /^(==|!=|<=level|>=level|<level|>level|<=|>=|<|>)/;

/** The index just past the bracket that closes the one at open. */
function closingIndex(text: string, open: number): number {
  const opener = text[open];
  const closer = opener === '(' ? ')' : '}';
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === opener) depth++;
    else if (text[i] === closer && --depth === 0) return i + 1;
  }
  throw new PetrelError('config', `syntax error: missing '${closer}' in "${text}"`);
}

/** Reads "{text}" at pos (after white space); returns the inside and the position after it. */
function braced(text: string, pos: number): { inside: string; end: number } | undefined {
  let i = pos;
  while (text[i] === ' ' || text[i] === '\t') i++;
  if (text[i] !== '{') return undefined;
  const end = closingIndex(text, i);
  return { inside: text.slice(i + 1, end - 1), end };
}

function skipSpace(text: string, pos: number): number {
  let i = pos;
  while (text[i] === ' ' || text[i] === '\t') i++;
  return i;
}

/** Compares compatibility levels such as 3.6 and 2 by their numeric parts. */
function compareLevels(a: string, b: string): number {
  const pa = a.trim().split('.').map(Number);
  const pb = b.trim().split('.').map(Number);
  if ([...pa, ...pb].some((n) => !Number.isInteger(n))) {
    throw new PetrelError('config', `bad compatibility level: "${a}" or "${b}"`);
  }
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

function compareNumbers(a: string, b: string): number {
  const na = Number(a.trim());
  const nb = Number(b.trim());
  if (!Number.isFinite(na) || !Number.isFinite(nb) || a.trim() === '' || b.trim() === '') {
    throw new PetrelError('config', `numerical comparison of non-numbers: "${a}" and "${b}"`);
  }
  return na - nb;
}

function testComparison(left: string, op: string, right: string): boolean {
  if (op === '==') return left === right;
  if (op === '!=') return left !== right;
  const order = op.endsWith('level') ? compareLevels(left, right) : compareNumbers(left, right);
  const base = op.replace('level', '');
  if (base === '<') return order < 0;
  if (base === '<=') return order <= 0;
  if (base === '>') return order > 0;
  return order >= 0;
}

class Expander {
  constructor(private readonly source: RawValueSource) {}

  expand(text: string, depth: number): string {
    let out = '';
    let i = 0;
    while (i < text.length) {
      const dollar = text.indexOf('$', i);
      if (dollar < 0) {
        out += text.slice(i);
        break;
      }
      out += text.slice(i, dollar);
      const next = text[dollar + 1];
      if (next === '$') {
        out += '$';
        i = dollar + 2;
      } else if (next === '{' || next === '(') {
        const end = closingIndex(text, dollar + 1);
        out += this.expandBracketed(text.slice(dollar + 2, end - 1), depth);
        i = end;
      } else if (next !== undefined && NAME_CHAR.test(next)) {
        let end = dollar + 1;
        while (end < text.length && NAME_CHAR.test(text[end] as string)) end++;
        out += this.valueOf(text.slice(dollar + 1, end), depth);
        i = end;
      } else {
        out += '$';
        i = dollar + 1;
      }
    }
    return out;
  }

  private valueOf(name: string, depth: number): string {
    if (depth >= MAX_NESTING) throw new PetrelError('config', `unreasonable macro call nesting: "${name}"`);
    const raw = this.source(name);
    return raw === undefined ? '' : this.expand(raw, depth + 1);
  }

  private expandBracketed(inner: string, depth: number): string {
    if (inner.trimStart().startsWith('{')) return this.expandComparison(inner, depth);
    let end = 0;
    while (end < inner.length && NAME_CHAR.test(inner[end] as string)) end++;
    const name = inner.slice(0, end);
    if (name === '') throw new PetrelError('config', `syntax error: empty parameter name in "\${${inner}}"`);
    const rest = inner.slice(end);
    if (rest === '') return this.valueOf(name, depth);
    const value = this.valueOf(name, depth);
    const set = value !== '';
    const op = rest[0];
    if (op !== '?' && op !== ':') {
      throw new PetrelError('config', `syntax error: unexpected "${rest}" after parameter name in "\${${inner}}"`);
    }
    const first = braced(rest, 1);
    if (first === undefined) {
      const chosen = (op === '?') === set;
      return chosen ? this.expand(rest.slice(1), depth + 1) : '';
    }
    let pos = skipSpace(rest, first.end);
    let other: string | undefined;
    if (op === '?' && rest[pos] === ':') {
      const second = braced(rest, pos + 1);
      if (second === undefined) throw new PetrelError('config', `syntax error: expected {value} after ':' in "\${${inner}}"`);
      other = second.inside;
      pos = skipSpace(rest, second.end);
    }
    if (pos !== rest.length) throw new PetrelError('config', `syntax error: unexpected text after {value} in "\${${inner}}"`);
    if (op === '?') return this.expand(set ? first.inside : (other ?? ''), depth + 1);
    return set ? '' : this.expand(first.inside, depth + 1);
  }

  private expandComparison(inner: string, depth: number): string {
    const where = `"\${${inner}}"`;
    const left = braced(inner, 0);
    if (left === undefined) throw new PetrelError('config', `syntax error in ${where}`);
    let pos = skipSpace(inner, left.end);
    const op = COMPARISON.exec(inner.slice(pos))?.[1];
    if (op === undefined) throw new PetrelError('config', `unknown comparison operator in ${where}`);
    const right = braced(inner, pos + op.length);
    if (right === undefined) throw new PetrelError('config', `syntax error: expected {value} after ${op} in ${where}`);
    pos = skipSpace(inner, right.end);
    if (inner[pos] !== '?') throw new PetrelError('config', `syntax error: expected '?' in ${where}`);
    const whenTrue = braced(inner, pos + 1);
    if (whenTrue === undefined) throw new PetrelError('config', `syntax error: expected {value} after '?' in ${where}`);
    pos = skipSpace(inner, whenTrue.end);
    let whenFalse = '';
    if (inner[pos] === ':') {
      const second = braced(inner, pos + 1);
      if (second === undefined) throw new PetrelError('config', `syntax error: expected {value} after ':' in ${where}`);
      whenFalse = second.inside;
      pos = skipSpace(inner, second.end);
    }
    if (pos !== inner.length) throw new PetrelError('config', `syntax error: unexpected text in ${where}`);
    const outcome = testComparison(this.expand(left.inside, depth + 1), op, this.expand(right.inside, depth + 1));
    return this.expand(outcome ? whenTrue.inside : whenFalse, depth + 1);
  }
}

/** Expands every $name form in text; source gives raw parameter values. */
export function expandText(text: string, source: RawValueSource): string {
  return new Expander(source).expand(text, 0);
}

/** The parameter names text refers to with $name, ${name...} or $(name), for unused-parameter checks. */
export function referencedNames(text: string): string[] {
  const names: string[] = [];
  const pattern = /\$(?:\$|([A-Za-z0-9_]+)|[{(]([A-Za-z0-9_]+))/g;
  for (const match of text.matchAll(pattern)) {
    const name = match[1] ?? match[2];
    if (name !== undefined) names.push(name);
  }
  return names;
}
