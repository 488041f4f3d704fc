/*
 * postmap -q on mysql:, pgsql: and sqlite: tables gives Debian Postfix's
 * answers and exit status (postfix-mysql, postfix-pgsql, postfix-sqlite)
 * on the same table files and the same rows: found, not found, several
 * rows, several columns, %u/%d/%1 expansions, result_format, the domain
 * list, quoting, and an exceeded expansion_limit. Also: postconf -m lists
 * the three types.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import { needFile } from '../support/need.js';
import { runPetrel, runProgram } from '../support/run-command.js';
import { ROWS, sqlLiteral } from '../global/tables/sql-table-suite.js';
import { loadSqlite, needServer, writeTableFile } from '../global/tables/sql-test-support.js';

const POSTMAP = '/usr/sbin/postmap';
const reference = (type: string): false | string =>
  needFile(POSTMAP, "Debian's postfix is the reference for postmap's answers") || needFile(`/usr/lib/postfix/postfix-${type}.so`, `Debian's postfix-${type} answers ${type}: queries`);
// Every wait before any test or hook is registered: the tests start once the module is loaded.
const mysqlSkip = reference('mysql') || (await needServer(3306, 'MariaDB (postmap -q mysql: comparison)'));
const pgsqlSkip = reference('pgsql') || (await needServer(5432, 'PostgreSQL (postmap -q pgsql: comparison)'));
const sqlite = await loadSqlite('postmap -q sqlite: comparison');
const work = mkdtempSync(join(tmpdir(), 'petrel-postmap-sql-'));
after(() => rmSync(work, { recursive: true, force: true }));
writeFileSync(join(work, 'main.cf'), '');
const table = `petrel_pmsql_${process.pid}`;

/** The keys every table file is asked for, one per line on standard input. */
const KEYS = [
  'alice@example.com',
  'ALICE@Example.COM',
  'list@example.com',
  'multi@example.com',
  'nobody@example.com',
  'empty@example.com',
  'null@example.com',
  'bob',
  'bob@other.example',
  'example.com',
  '@example.com',
  'x@sub.example.org',
  "o'b\\c@example.com",
  "x' OR '1'='1",
  'a@b@example.com',
];

/** The table files (beyond the connection settings) compared for each type. */
const VARIANTS: Record<string, Record<string, string>> = {
  plain: { query: `SELECT v, w FROM ${table} WHERE k = '%s'` },
  user: { query: `SELECT v FROM ${table} WHERE k = '%u'` },
  parts: { query: `SELECT v FROM ${table} WHERE k = '%u@%d' AND '%2' = 'example'` },
  format: { query: `SELECT v FROM ${table} WHERE k = '%s'`, result_format: 'relay:[%d] %u %U %D %1 %%' },
  domain: { query: `SELECT v FROM ${table} WHERE k = '%s'`, domain: 'example.com sub.example.org' },
  legacy: { select_field: 'v', table, where_field: 'k', additional_conditions: "AND v <> 'b@example.com'" },
};

/** Runs Petrel's and Debian's postmap with args and asserts the same output and status. */
function compare(args: readonly string[], input?: string): void {
  const petrel = runPetrel('postmap', ['-c', work, ...args], input);
  const postfix = runProgram(POSTMAP, ['-c', work, ...args], input);
  const label = `postmap ${args.join(' ')}`;
  assert.equal(petrel.stdout, postfix.stdout, `${label}\npetrel stderr: ${petrel.stderr}\npostfix stderr: ${postfix.stderr}`);
  assert.equal(petrel.status, postfix.status, label);
}

/** Compares every variant of type's table files with connection settings base. */
function compareType(type: string, base: Record<string, string>): void {
  for (const [name, variant] of Object.entries(VARIANTS)) {
    const file = writeTableFile(work, `${type}-${name}.cf`, { ...base, ...variant });
    compare(['-q', '-', `${type}:${file}`], `${KEYS.join('\n')}\n`);
  }
  const plain = join(work, `${type}-plain.cf`);
  compare(['-q', 'list@example.com', `${type}:${plain}`]);
  compare(['-q', 'nobody@example.com', `${type}:${plain}`]);
  const limited = writeTableFile(work, `${type}-limited.cf`, { ...base, query: `SELECT v FROM ${table} WHERE k = '%s'`, expansion_limit: '2' });
  compare(['-q', 'alice@example.com', `${type}:${limited}`]);
  compare(['-q', 'list@example.com', `${type}:${limited}`]);
}

const values = (backslashes: boolean): string => ROWS.map((row) => `(${row.map((value) => sqlLiteral(value, backslashes)).join(', ')})`).join(', ');

test('postconf -m lists the SQL table types', () => {
  const types = runPetrel('postconf', ['-m']).stdout.split('\n');
  for (const type of ['mysql', 'pgsql', 'sqlite']) assert.ok(types.includes(type), `postconf -m: ${type}`);
});

test('postmap -q mysql: answers as Debian Postfix', { skip: mysqlSkip }, async () => {
  const db = await createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: 'test' });
  try {
    await db.query(`CREATE TABLE ${table} (k VARCHAR(255) COLLATE utf8mb4_bin, v VARCHAR(255), w VARCHAR(255))`);
    await db.query(`INSERT INTO ${table} VALUES ${values(true)}`);
    compareType('mysql', { hosts: '127.0.0.1:3306', user: 'root', dbname: 'test' });
  } finally {
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.end();
  }
});

test('postmap -q pgsql: answers as Debian Postfix', { skip: pgsqlSkip }, async () => {
  const db = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  await db.connect();
  try {
    await db.query(`CREATE TABLE ${table} (k text, v text, w text)`);
    await db.query(`INSERT INTO ${table} VALUES ${values(false)}`);
    compareType('pgsql', { hosts: '127.0.0.1:5432', user: 'postgres', dbname: 'test' });
  } finally {
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.end();
  }
});

test('postmap -q sqlite: answers as Debian Postfix', { skip: reference('sqlite') || (typeof sqlite === 'string' && sqlite) }, () => {
  if (typeof sqlite === 'string') return;
  const dbpath = join(work, 'tables.db');
  const db = new sqlite(dbpath);
  db.exec(`CREATE TABLE ${table} (k text, v text, w text)`);
  db.exec(`INSERT INTO ${table} VALUES ${values(false)}`);
  db.close();
  compareType('sqlite', { dbpath });
});
