/*
 * table-command - the command-line driver postmap(1), postalias(1) and
 * newaliases share: options -c -d -F -f -i -p -q -r -s -w (-F: values are
 * lists of files whose content is stored base64-encoded, and shown decoded,
 * as tls_server_sni_maps wants), building each named
 * table from its source, -q key / -q - queries against any table type,
 * -d deletions, -s dumps and -i incremental updates from standard input.
 * The two commands differ in the source syntax (postmap's "key value",
 * postalias's aliases(5)) and in how a key and value are printed. Exit
 * status: 0 when a query or deletion found something (or a build worked),
 * 1 when it found nothing or after a fatal error, as Postfix's.
 */
import { readFileSync } from 'node:fs';
import { resolveConfigDir } from '../config/config-dir.js';
import { splitList } from '../config/param-convert.js';
import { loadConfig } from '../config/load-config.js';
import { getoptOrUsage } from '../../util/getopt.js';
import { msg } from '../../util/msg.js';
import { addToTable, buildTable, deleteFromTable, dumpTable, parseTableArg, queryTables, requireIndexed, type TableArg } from './table-admin.js';
import { openTable } from './table-registry.js';
import type { SourceEntry, SourceOptions } from './table-source.js';
import type { LookupTable } from './table.js';

/** What makes postmap and postalias different. */
export interface TableCommand {
  readonly name: 'postmap' | 'postalias';
  /** Parses source text (a file or standard input); where names it in warnings. */
  parse(text: string, where: string, options: SourceOptions): SourceEntry[];
  /** Reads a source file. */
  read(path: string, options: SourceOptions): SourceEntry[];
  /** Separates key and value in -q - and -s output. */
  readonly separator: string;
}

function usage(command: TableCommand): string {
  return `usage: ${command.name} [-c config_dir] [-d key] [-F] [-f] [-i] [-p] [-q key] [-r] [-s] [-w] [type:]file...`;
}

function stdinLines(): string[] {
  return readFileSync(0, 'utf8').split('\n').map((line) => line.replace(/\r$/, '')).filter((line) => line.trim() !== '');
}

/** -F: each value, a list of files, becomes their content concatenated and base64-encoded. */
function filesToBase64(entries: readonly SourceEntry[]): SourceEntry[] {
  return entries.map((entry) => {
    const content = splitList(entry.value).map((path) => {
      try {
        return readFileSync(path);
      } catch (err) {
        return msg.fatal(`open ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    });
    // Postfix puts a newline between the files' contents.
    return { ...entry, value: Buffer.concat(content.flatMap((c, i) => (i === 0 ? [c] : [Buffer.from('\n'), c]))).toString('base64') };
  });
}

async function openAll(args: readonly TableArg[], configDir: string, foldKeys: boolean): Promise<LookupTable[]> {
  const tables: LookupTable[] = [];
  for (const arg of args) tables.push(await openTable(arg.spec, { configDir, foldKeys }));
  return tables;
}

/** Runs command with argv; optional tables replace the operands (newaliases). */
export async function runTableCommand(command: TableCommand, argv: readonly string[], defaultTables?: (configDefault: readonly string[]) => readonly string[]): Promise<number> {
  const parsed = getoptOrUsage(argv, 'c:d:Ffipq:rsw', usage(command));
  const has = (letter: string): boolean => parsed.options.some((o) => o.letter === letter);
  const value = (letter: string): string | undefined => parsed.options.findLast((o) => o.letter === letter)?.value;
  const configDir = resolveConfigDir(value('c'));
  const { params } = loadConfig({ configDir });
  const operands = defaultTables === undefined ? parsed.operands : defaultTables(params.alias_database);
  if (operands.length === 0) msg.fatal(usage(command));
  const tables = operands.map((operand) => parseTableArg(operand, params.default_database_type));
  const foldKeys = !has('f');
  const sourceOptions: SourceOptions = {
    foldKeys,
    replaceDuplicates: has('r'),
    warnDuplicates: !has('r') && !has('w'),
  };
  const files = has('F');
  const shown = (found: string): string => (files ? Buffer.from(found, 'base64').toString('utf8') : found);
  const stored = (entries: SourceEntry[]): SourceEntry[] => (files ? filesToBase64(entries) : entries);
  const modes = ['q', 'd', 's', 'i'].filter(has);
  if (modes.length > 1) msg.fatal(`specify only one of -${modes.join(', -')}\n${usage(command)}`);

  const query = value('q');
  if (query !== undefined) {
    const open = await openAll(tables, configDir, foldKeys);
    try {
      if (query !== '-') {
        const found = await queryTables(open, query);
        if (found === undefined) return 1;
        process.stdout.write(`${shown(found)}\n`);
        return 0;
      }
      let any = false;
      for (const key of stdinLines()) {
        const found = await queryTables(open, key);
        if (found === undefined) continue;
        any = true;
        process.stdout.write(`${key}${command.separator}${shown(found)}\n`);
      }
      return any ? 0 : 1;
    } finally {
      // Network tables hold connections that would keep the command running.
      await Promise.all(open.map((table) => table.close()));
    }
  }

  const deletion = value('d');
  if (deletion !== undefined) {
    const keys = (deletion === '-' ? stdinLines() : [deletion]).map((key) => (foldKeys ? key.toLowerCase() : key));
    let deleted = 0;
    for (const table of tables) deleted += await deleteFromTable(table, keys);
    return deleted > 0 ? 0 : 1;
  }

  if (has('s')) {
    for (const table of tables) {
      for (const [key, found] of dumpTable(table)) process.stdout.write(`${key}${command.separator}${shown(found)}\n`);
    }
    return 0;
  }

  if (has('i')) {
    const entries = stored(command.parse(readFileSync(0, 'utf8'), 'stdin', { ...sourceOptions, warnDuplicates: false }));
    for (const table of tables) await addToTable(table, entries, has('r'), !has('r') && !has('w'));
    return 0;
  }

  for (const table of tables) {
    const file = requireIndexed(table, 'bulk-mode creation');
    const entries = stored(command.read(table.name, { ...sourceOptions, duplicateWhere: file }));
    await buildTable(table, entries, table.name, has('p'));
  }
  return 0;
}
