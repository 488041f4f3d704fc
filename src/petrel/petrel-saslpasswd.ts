/*
 * petrel-saslpasswd - "petrel saslpasswd [-c config_dir] [-s scheme] [-d]
 * file user": adds or changes a user of the petrel SASL type
 * (smtpd_sasl_type = petrel) in a table's source file, or deletes one (-d).
 * The password is the first line of standard input; it is hashed
 * (SHA512-CRYPT unless -s names another scheme) and written as
 * "user<TAB>{SCHEME}hash" in place of the user's entry, keys comparing
 * without case as lookups fold them, every other line kept as it was. The
 * file may be named as in smtpd_sasl_path (texthash:/etc/petrel/sasl_users,
 * hash:...); it is replaced atomically and keeps its mode (0600 when new).
 * Indexed tables built from it (file.db, file.lmdb, and the one named) are
 * rebuilt as postmap would.
 * -c is taken as by every Petrel command; the file is named directly, so no
 * parameter is read. Called by petrel-main.ts; follows saslpasswd2(8) for the
 * command's role and postmap(1) for the file format.
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { logicalLines } from '../global/config/config-lines.js';
import { buildTable, parseTableArg } from '../global/tables/table-admin.js';
import { indexedFile, INDEXED_SUFFIXES } from '../global/tables/table-lmdb.js';
import { readSourceText, readTableSource } from '../global/tables/table-source.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { getoptOrUsage } from '../util/getopt.js';
import { msg } from '../util/msg.js';

/** The usage line, also part of the petrel command's usage text. */
export const SASLPASSWD_USAGE = 'petrel saslpasswd [-c config_dir] [-s scheme] [-d] file user';

/** The indexed types whose files are looked for beside the source (btree shares hash's .db). */
const INDEX_TYPES = ['hash', 'lmdb'] as const;

/** The first line of standard input, without its line ending; '' when there is none. */
async function readFirstLine(): Promise<string> {
  const lines = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of lines) return line;
    return '';
  } finally {
    // The rest of standard input is not wanted: do not wait for the writer to close it.
    process.stdin.destroy();
  }
}

/**
 * text with every entry whose key is user (any case) removed and, when
 * entry is given, entry in place of the first one (or appended).
 */
function editSource(text: string, user: string, entry: string | undefined): { text: string; found: boolean } {
  const physical = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const key = user.toLowerCase();
  const matches = logicalLines(text).filter((logical) => (/^\S+/.exec(logical.text)?.[0] ?? '').toLowerCase() === key);
  const drop = new Set(matches.flatMap((logical) => Array.from({ length: logical.lastLine - logical.line + 1 }, (_, i) => logical.line - 1 + i)));
  const first = matches[0];
  const result: string[] = [];
  physical.forEach((line, index) => {
    if (entry !== undefined && first !== undefined && index === first.line - 1) result.push(entry);
    if (!drop.has(index)) result.push(line);
  });
  if (entry !== undefined && first === undefined) result.push(entry);
  return { text: result.length === 0 ? '' : `${result.join('\n')}\n`, found: first !== undefined };
}

/** Rebuilds from source the indexed table named (type) and every other one found beside it, as "postmap type:source" does. */
async function rebuildIndexes(source: string, named: string): Promise<void> {
  const namedFile = INDEXED_SUFFIXES[named] === undefined ? undefined : indexedFile(named, source);
  for (const type of INDEX_TYPES) {
    const file = indexedFile(type, source);
    if (file !== namedFile && !existsSync(file)) continue;
    const entries = readTableSource(source, { duplicateWhere: file });
    await buildTable({ type, name: source, spec: `${type}:${source}` }, entries, source, false);
    msg.info(`${file}: rebuilt from ${source}`);
  }
}

/** Runs petrel saslpasswd with the words after "saslpasswd"; the exit status. */
export async function runSaslpasswd(argv: readonly string[]): Promise<number> {
  // Loaded here, not at the top: its hash libraries would add ~50 ms to every other petrel command.
  const { DEFAULT_HASH_SCHEME, HASH_SCHEMES, hashPassword, isHashScheme } = await import('../global/sasl/password-hash.js');
  const usage = `usage: ${SASLPASSWD_USAGE}`;
  const parsed = getoptOrUsage(argv, 'c:ds:', usage);
  const has = (letter: string): boolean => parsed.options.some((o) => o.letter === letter);
  const scheme = (parsed.options.findLast((o) => o.letter === 's')?.value ?? DEFAULT_HASH_SCHEME).toUpperCase();
  if (parsed.operands.length !== 2) return msg.fatal(usage);
  const [fileArg, user] = parsed.operands as [string, string];
  if (!/^[^\s#]\S*$/.test(user)) return msg.fatal(`bad user name "${user}": it must be one word not starting with #`);
  const table = parseTableArg(fileArg, 'texthash');
  if (table.type !== 'texthash' && INDEXED_SUFFIXES[table.type] === undefined) {
    return msg.fatal(`unsupported table type ${table.type}: petrel saslpasswd edits texthash, hash, btree and lmdb tables`);
  }
  const file = table.name;

  let entry: string | undefined;
  if (!has('d')) {
    if (!isHashScheme(scheme)) return msg.fatal(`unsupported password scheme ${scheme}: use one of ${HASH_SCHEMES.join(', ')}`);
    const password = await readFirstLine();
    if (password === '') return msg.fatal('empty password (give the password as the first line of standard input)');
    entry = `${user}\t${await hashPassword(password, scheme)}`;
  }

  const exists = existsSync(file);
  if (!exists && entry === undefined) return msg.fatal(`open ${file}: No such file or directory`);
  const edited = editSource(exists ? readSourceText(file) : '', user, entry);
  if (entry === undefined && !edited.found) {
    msg.warn(`${file}: no entry for ${user}`);
    return 1;
  }
  if (!exists) {
    // writeFileAtomic keeps an existing file's mode, so the new file starts as an empty 0600 one.
    closeSync(openSync(file, 'wx', 0o600));
  }
  writeFileAtomic(file, edited.text);
  msg.info(`${file}: ${entry === undefined ? 'deleted' : edited.found ? 'changed' : 'added'} user ${user}`);
  await rebuildIndexes(file, table.type);
  return 0;
}
