/*
 * sqlite: tables on a database made here with better-sqlite3 (an optional
 * dependency: these tests skip loudly without it, and fail under CI): the
 * shared SQL suite, a database that is missing then appears, one replaced
 * on disk, and the message a process without better-sqlite3 gives.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { sqliteQuote } from '../../../src/global/tables/table-sqlite.js';
import { REPO_ROOT } from '../../support/run-command.js';
import { waitFor } from '../../support/wait.js';
import { defineSqlTableTests, isTemporaryFailure, openWith, ROWS, sqlLiteral, tableDir } from './sql-table-suite.js';
import { loadSqlite, writeTableFile } from './sql-test-support.js';

/** The optional module a process may lack. */
const MODULE = 'better-sqlite3';
const Sqlite = await loadSqlite('the sqlite: table tests');
const skip = typeof Sqlite === 'string' ? Sqlite : false;
const dir = tableDir('sqlite');
const dbpath = join(dir, 'tables.db');
const table = 'petrel_sqltab';

/** Makes a database file at path holding table with rows. */
function makeDatabase(path: string, rows: typeof ROWS): void {
  if (typeof Sqlite === 'string') return;
  const db = new Sqlite(path);
  db.exec(`CREATE TABLE ${table} (k text, v text, w text)`);
  db.exec(`INSERT INTO ${table} VALUES ${rows.map((row) => `(${row.map((value) => sqlLiteral(value, false)).join(', ')})`).join(', ')}`);
  db.close();
}

before(() => makeDatabase(dbpath, ROWS));

defineSqlTableTests({ type: 'sqlite', table, settings: () => ({ dbpath }), allColumns: false }, skip);

test('sqlite: values are escaped by doubling single quotes', () => {
  assert.equal(sqliteQuote("a'b\\c\"d"), "a''b\\c\"d");
});

test('sqlite: a missing database is a temporary error until it appears; a replaced one is read anew', { skip }, async () => {
  const later = join(dir, 'later.db');
  const lookups = await openWith('sqlite', dir, { dbpath: later, query: `SELECT v FROM ${table} WHERE k = '%s'` });
  try {
    await assert.rejects(lookups.lookup('bob'), isTemporaryFailure);
    makeDatabase(later, ROWS);
    assert.equal(await lookups.lookup('bob'), 'bare');
    const replacement = join(dir, 'replacement.db');
    makeDatabase(replacement, [['bob', 'replaced', null]]);
    renameSync(replacement, later);
    await waitFor(async () => (await lookups.lookup('bob')) === 'replaced', 'the lookups to open the replaced database');
  } finally {
    await lookups.close();
  }
});

test('sqlite: without better-sqlite3, opening a sqlite: table says how to install it; other tables still work', () => {
  const hook = `export async function resolve(specifier, context, next) {
    if (specifier === '${MODULE}') throw Object.assign(new Error("Cannot find package '${MODULE}'"), { code: 'ERR_MODULE_NOT_FOUND' });
    return next(specifier, context);
  }`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
  writeFileSync(join(dir, 'main.cf'), '');
  const file = writeTableFile(dir, 'hidden.cf', { dbpath, query: `SELECT v FROM ${table} WHERE k = '%s'` });
  const postmap = (spec: string): ReturnType<typeof spawnSync> =>
    spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, join(REPO_ROOT, 'dist/src/postmap/postmap-main.js'), '-q', 'bob', spec], {
      encoding: 'utf8',
      env: { ...process.env, MAIL_CONFIG: dir },
    });
  const hidden = postmap(`sqlite:${file}`);
  assert.equal(hidden.status, 1);
  assert.match(String(hidden.stderr), /postmap: fatal: sqlite: table support needs better-sqlite3 \(npm install better-sqlite3@12\.x\)/);
  const other = postmap('inline:{ bob=fine }');
  assert.equal(other.stdout, 'fine\n', String(other.stderr));
});
