/*
 * postconf - Petrel's configuration utility (postconf(1)): print main.cf
 * parameters (all, -n set ones, -d defaults, named ones; -h values only, -x
 * expanded, -f folded), edit main.cf (-e, -X, -#), print and edit master.cf
 * (-M, -Mf, -P, -Me, -MX, -M#) and list the supported table types (-m),
 * mailbox lock methods (-l) and SASL implementations (-a, -A). Takes -c DIR
 * and MAIL_CONFIG like every command. Exit status 0, or 1 after a fatal error.
 */
import { join } from 'node:path';
import { resolveConfigDir } from '../global/config/config-dir.js';
import { ConfigSource } from '../global/config/config-source.js';
import { parseMasterCf, readMasterCf, type MasterEntry } from '../global/config/master-cf-read.js';
import { PetrelError } from '../global/errors.js';
import { TABLE_TYPES } from '../global/tables/table-registry.js';
import { SASL_SERVER_TYPES } from '../global/sasl/sasl-server.js';
import { runCommand } from '../util/command-main.js';
import { getoptOrUsage } from '../util/getopt.js';
import { msg } from '../util/msg.js';
import { editMainCf, parseAssignment } from './postconf-edit.js';
import { foldWords } from './postconf-format.js';
import { editMasterCf, formatEntry, formatOverrides, selectEntries } from './postconf-master.js';
import { paramLines, warnUnused } from './postconf-params.js';

const USAGE = 'usage: postconf [-a (server SASL types)] [-A (client SASL types)] [-c config_dir] [-d (defaults)] [-e (edit)] [-f (fold lines)] [-h (no names)] [-l (lock types)] [-m (map types)] [-M (master.cf)] [-n (non-default parameters)] [-o name=value (override parameter value)] [-P (master.cf parameter settings)] [-x (expand parameter values)] [-X (remove)] [-# (comment-out)] [name...]';

/** Mailbox locking methods local delivery implements (postconf -l). */
const LOCK_METHODS = ['dotlock'];

function readEntries(configDir: string, required: boolean): MasterEntry[] {
  try {
    return readMasterCf(join(configDir, 'master.cf'));
  } catch (err) {
    if (required || !(err instanceof PetrelError) || !err.message.startsWith('open ')) throw err;
    msg.warn(err.message);
    return [];
  }
}

function print(lines: readonly string[]): void {
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}

function foldParam(line: string): string {
  const eq = line.indexOf(' = ');
  if (eq < 0) return line;
  const words = line.slice(eq + 3).split(/\s+/);
  return foldWords(`${line.slice(0, eq)} = ${words[0] ?? ''}`, words.slice(1));
}

function main(argv: string[]): number {
  const parsed = getoptOrUsage(argv, 'aAc:defhlmMno:pPxX#', USAGE);
  const flags = new Set(parsed.options.map((o) => o.letter));
  const overrides: Record<string, string> = {};
  for (const o of parsed.options) {
    if (o.letter === 'o') {
      const [name, value] = parseAssignment(o.value as string);
      overrides[name] = value;
    }
  }
  const cliDir = parsed.options.findLast((o) => o.letter === 'c')?.value;
  const configDir = resolveConfigDir(cliDir);
  const names = parsed.operands;

  if (flags.has('m')) return print(Object.keys(TABLE_TYPES).sort()), 0;
  if (flags.has('l')) return print(LOCK_METHODS), 0;
  if (flags.has('a')) return print([...SASL_SERVER_TYPES]), 0;
  // The SMTP client authenticates by itself (smtp_sasl_*), through no SASL plug-in to list.
  if (flags.has('A')) return 0;

  const editing = flags.has('e') || flags.has('X') || flags.has('#');
  if (editing && names.length === 0) msg.fatal(`${USAGE}`);
  const masterPath = join(configDir, 'master.cf');

  if (flags.has('M')) {
    if (editing && names.some((name) => !/^[^/=]+\/[^/=]+(=|$)/.test(name))) {
      msg.fatal('-Me, -MX or -M# requires service_name/type');
    }
    if (flags.has('e')) {
      const replacements = new Map<string, string>();
      for (const operand of names) {
        const [key, text] = parseAssignment(operand);
        const entry = parseMasterCf(text, 'postconf -Me')[0];
        if (entry === undefined || `${entry.service}/${entry.type}` !== key) {
          msg.fatal(`-Me ${key}: the new entry must be for service ${key}`);
        }
        replacements.set(key, text);
      }
      editMasterCf(masterPath, { kind: 'replace', entries: replacements });
      return 0;
    }
    if (flags.has('X') || flags.has('#')) {
      editMasterCf(masterPath, { kind: flags.has('X') ? 'remove' : 'comment', requests: names });
      return 0;
    }
    print(selectEntries(readEntries(configDir, true), names).map((entry) => formatEntry(entry, flags.has('f'))));
    return 0;
  }

  const mainPath = join(configDir, 'main.cf');
  if (flags.has('e')) {
    editMainCf(mainPath, { kind: 'set', values: new Map(names.map((name) => parseAssignment(name))) });
    return 0;
  }
  if (flags.has('X') || flags.has('#')) {
    editMainCf(mainPath, { kind: flags.has('X') ? 'remove' : 'comment', names });
    return 0;
  }

  // -d shows the built-in defaults only: Postfix neither needs nor reads main.cf for it.
  const mainCf = flags.has('d') ? { path: mainPath, settings: new Map() } : undefined;
  const source = new ConfigSource({ configDir, overrides }, mainCf);
  const entries = readEntries(configDir, false);
  if (flags.has('P')) {
    print(formatOverrides(entries, names));
    return 0;
  }
  const lines = paramLines(source, entries, {
    defaults: flags.has('d'),
    nonDefault: flags.has('n'),
    valuesOnly: flags.has('h'),
    expand: flags.has('x'),
  }, names);
  print(flags.has('f') ? lines.map(foldParam) : lines);
  if (!flags.has('d')) warnUnused(source, entries);
  return 0;
}

runCommand('postconf', main);
