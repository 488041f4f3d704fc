/*
 * main-cf-read - reads main.cf into name = value settings (postconf(5)):
 * logical lines per config-lines.ts, the name and the value trimmed, the last
 * setting of a name wins with Postfix's "overriding earlier entry" warning.
 * A line without '=' is an error naming the file and line. Called by
 * load-config.ts and postconf.
 */
import { readFileSync } from 'node:fs';
import { PetrelError } from '../errors.js';
import { msg } from '../../util/msg.js';
import { logicalLines } from './config-lines.js';

/** One name = value setting as written. */
export interface MainCfSetting {
  readonly name: string;
  readonly value: string;
  readonly line: number;
}

/** The settings of one main.cf, the last of each name winning. */
export interface MainCf {
  readonly path: string;
  readonly settings: ReadonlyMap<string, MainCfSetting>;
}

/** Parses main.cf text; path is used in warnings and errors only. */
export function parseMainCf(text: string, path: string): MainCf {
  const settings = new Map<string, MainCfSetting>();
  for (const logical of logicalLines(text)) {
    const eq = logical.text.indexOf('=');
    if (eq < 0) {
      throw new PetrelError('config', `${path}, line ${logical.line}: missing '=' after attribute name: "${logical.text}"`);
    }
    const name = logical.text.slice(0, eq).trim();
    if (name === '' || /\s/.test(name)) {
      throw new PetrelError('config', `${path}, line ${logical.line}: bad parameter name: "${name}"`);
    }
    const value = logical.text.slice(eq + 1).trim();
    const earlier = settings.get(name);
    if (earlier !== undefined) {
      msg.warn(`${path}, line ${logical.line}: overriding earlier entry: ${name}=${earlier.value}`);
      settings.delete(name);
    }
    settings.set(name, { name, value, line: logical.line });
  }
  return { path, settings };
}

/** Reads and parses the main.cf at path; a missing file is an error, as in Postfix. */
export function readMainCf(path: string): MainCf {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (err as Error).message;
    throw new PetrelError('config', `open ${path}: ${reason}`, { cause: err });
  }
  return parseMainCf(text, path);
}
