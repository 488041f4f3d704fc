/*
 * param-convert - turns an expanded parameter text into its typed value once,
 * at load: int, bool (yes/no), time (a number with an optional unit s, m, h,
 * d or w, in seconds), size (bytes), list and table list (items separated by
 * commas and/or white space, { } grouping kept whole). Bounds and a
 * string's (or a list's items') choices are checked here; a bad value is a configuration error naming the parameter.
 * Called by load-config.ts.
 */
import { readFileSync } from 'node:fs';
import { PetrelError } from '../errors.js';
import type { ParamSpec, ParamValue, ParamKind } from '../params/param-types.js';

const TIME_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Splits a list on commas and white space; a {...} group (nesting allowed) stays one item. */
export function splitList(text: string): string[] {
  const items: string[] = [];
  let current = '';
  let depth = 0;
  for (const ch of text) {
    if (ch === '{') depth++;
    else if (ch === '}' && depth > 0) depth--;
    if (depth === 0 && (ch === ',' || ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r')) {
      if (current !== '') items.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (current !== '') items.push(current);
  return items;
}

/** The items of a /file/name list item: white space or comma separated, # comments to end of line. */
function readListFile(name: string, path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PetrelError('config', `${name}: open ${path}: ${(err as Error).message}`, { cause: err });
  }
  return text.split('\n').flatMap((line) => splitList(line.replace(/#.*$/, '')));
}

function bounded(name: string, spec: ParamSpec, value: number, text: string): number {
  if (spec.min !== undefined && value < spec.min) {
    throw new PetrelError('config', `invalid ${name} parameter value ${text}: must be at least ${spec.min}`);
  }
  if (spec.max !== undefined && value > spec.max) {
    throw new PetrelError('config', `invalid ${name} parameter value ${text}: must be at most ${spec.max}`);
  }
  return value;
}

/** Converts an expanded text to spec.kind; throws a config PetrelError on a bad value. */
export function convertParam<K extends ParamKind>(name: string, spec: ParamSpec & { kind: K }, text: string): ParamValue<K>;
export function convertParam(name: string, spec: ParamSpec, text: string): ParamValue<ParamKind> {
  const value = text.trim();
  switch (spec.kind) {
    case 'string':
      if (spec.choices !== undefined && !spec.choices.includes(value)) {
        throw new PetrelError('config', `invalid ${name} parameter value ${value}: must be one of ${spec.choices.join(', ')}`);
      }
      return value;
    case 'int': {
      if (!/^-?\d+$/.test(value)) throw new PetrelError('config', `bad numerical configuration: ${name} = ${value}`);
      return bounded(name, spec, Number(value), value);
    }
    case 'size': {
      if (!/^\d+$/.test(value)) throw new PetrelError('config', `bad numerical configuration: ${name} = ${value}`);
      return bounded(name, spec, Number(value), value);
    }
    case 'bool': {
      const lower = value.toLowerCase();
      if (lower === 'yes' || lower === 'true') return true;
      if (lower === 'no' || lower === 'false') return false;
      throw new PetrelError('config', `bad boolean configuration: ${name} = ${value}`);
    }
    case 'time': {
      const match = /^(\d+)([smhdw]?)$/i.exec(value);
      if (match === null) throw new PetrelError('config', `bad time configuration: ${name} = ${value}`);
      const unit = (match[2] === '' ? (spec.timeUnit ?? 's') : (match[2] as string)).toLowerCase();
      return bounded(name, spec, Number(match[1]) * (TIME_UNITS[unit] as number), value);
    }
    case 'list':
    case 'tables': {
      const items = splitList(value);
      const bad = spec.choices === undefined ? undefined : items.find((item) => !(spec.choices as readonly string[]).includes(item));
      if (bad !== undefined) throw new PetrelError('config', `invalid ${name} parameter value ${bad}: must be one of ${(spec.choices as readonly string[]).join(', ')}`);
      if (spec.fileItems !== true) return items;
      return items.flatMap((item) => (item.startsWith('/') ? readListFile(name, item) : [item]));
    }
  }
}
