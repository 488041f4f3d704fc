/*
 * pgsql: tables against the real PostgreSQL on 127.0.0.1:5432 (trust,
 * database test): the shared SQL suite, then what only pgsql has:
 * postgresql:// URIs, unix: socket directories, select_function, and
 * quoting that holds whatever the server's standard_conforming_strings.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { pgsqlQuote } from '../../../src/global/tables/table-pgsql.js';
import { defineSqlServerTests, defineSqlTableTests, lookupAll, ROWS, sqlLiteral, tableDir } from './sql-table-suite.js';
import { needServer } from './sql-test-support.js';

const PORT = 5432;
const SOCKET_DIR = '/var/run/postgresql';
const USER = 'postgres';
const skip = await needServer(PORT, 'PostgreSQL (the pgsql: table tests)');
const table = `petrel_sqltab_${process.pid}`;
const lookupFunction = `${table}_fn`;
let db: pg.Client | undefined;

before(async () => {
  if (skip !== false) return;
  db = new pg.Client({ host: '127.0.0.1', port: PORT, user: USER, database: 'test' });
  await db.connect();
  await db.query(`CREATE TABLE ${table} (k text, v text, w text)`);
  await db.query(`INSERT INTO ${table} VALUES ${ROWS.map((row) => `(${row.map((value) => sqlLiteral(value, false)).join(', ')})`).join(', ')}`);
  await db.query(`CREATE FUNCTION ${lookupFunction}(text) RETURNS SETOF text LANGUAGE sql AS $$ SELECT v FROM ${table} WHERE k = $1 $$`);
});
after(async () => {
  if (db === undefined) return;
  await db.query(`DROP FUNCTION IF EXISTS ${lookupFunction}(text)`);
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.end();
});

const settingsWith = (hosts: string): Record<string, string> => ({ hosts, user: USER, dbname: 'test' });
const driver = {
  type: 'pgsql',
  table,
  settings: () => settingsWith(`127.0.0.1:${PORT}`),
  allColumns: true,
  port: PORT,
  settingsWith,
  slowQuery: "SELECT pg_sleep(3)::text WHERE '%s' <> ''",
} as const;
defineSqlTableTests(driver, skip);
defineSqlServerTests(driver, skip);

const dir = tableDir('pgsql-own');
const query = `SELECT v FROM ${table} WHERE k = '%s'`;

test('pgsql: values are escaped by doubling single quotes; backslashes stay as they are', () => {
  assert.equal(pgsqlQuote("a'b\\c"), "a''b\\c");
});

test('pgsql: postgresql:// URIs and unix: socket directories (or the socket itself)', { skip }, async () => {
  const uri = { hosts: `postgresql://${USER}@127.0.0.1:${PORT}/test?sslmode=disable`, dbname: 'test', query };
  assert.deepEqual(await lookupAll('pgsql', dir, uri, ['bob']), ['bare']);
  if (!existsSync(SOCKET_DIR)) return;
  assert.deepEqual(await lookupAll('pgsql', dir, { ...settingsWith(`unix:${SOCKET_DIR}`), query }, ['bob']), ['bare']);
  assert.deepEqual(await lookupAll('pgsql', dir, { ...settingsWith(`unix:${SOCKET_DIR}/.s.PGSQL.${PORT}`), query }, ['bob']), ['bare']);
});

test('pgsql: the legacy select_function', { skip }, async () => {
  assert.deepEqual(await lookupAll('pgsql', dir, { ...driver.settings(), select_function: lookupFunction }, ['list@example.com', 'nobody']), [
    'a@example.com,b@example.com,c@example.net',
    undefined,
  ]);
});

test('pgsql: a backslash in a key is looked up as written, even for a role whose default takes it as an escape', { skip }, async () => {
  assert.ok(db !== undefined);
  const role = `${table}_role`;
  await db.query(`CREATE ROLE ${role} LOGIN`);
  try {
    await db.query(`GRANT SELECT ON ${table} TO ${role}`);
    await db.query(`ALTER ROLE ${role} IN DATABASE test SET standard_conforming_strings = off`);
    const settings = { hosts: `127.0.0.1:${PORT}`, user: role, dbname: 'test', query };
    assert.deepEqual(await lookupAll('pgsql', dir, settings, ["o'b\\c@example.com", "x\\' OR 1=1 --"]), ['quoted', undefined]);
  } finally {
    await db.query(`REVOKE ALL ON ${table} FROM ${role}`);
    await db.query(`ALTER ROLE ${role} IN DATABASE test RESET ALL`);
    await db.query(`DROP ROLE ${role}`);
  }
});
