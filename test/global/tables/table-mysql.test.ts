/*
 * mysql: tables against the real MariaDB on 127.0.0.1:3306 (root, no
 * password, database test): the shared SQL suite, then what only mysql
 * has: unix sockets, option files, TLS settings that are honoured (never
 * ignored), require_result_set and stored procedures.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createConnection, type Connection } from 'mysql2/promise';
import { mysqlQuote } from '../../../src/global/tables/table-mysql.js';
import { defineSqlServerTests, defineSqlTableTests, isTemporaryFailure, lookupAll, openWith, ROWS, sqlLiteral, tableDir } from './sql-table-suite.js';
import { makeTestPki } from '../../support/tls-cert.js';
import { needServer } from './sql-test-support.js';

const PORT = 3306;
const SOCKET = '/run/mysqld/mysqld.sock';
const skip = await needServer(PORT, 'MariaDB (the mysql: table tests)');
const table = `petrel_sqltab_${process.pid}`;
const procedure = `${table}_proc`;
let db: Connection | undefined;

before(async () => {
  if (skip !== false) return;
  db = await createConnection({ host: '127.0.0.1', port: PORT, user: 'root', database: 'test' });
  await db.query(`CREATE TABLE ${table} (k VARCHAR(255) COLLATE utf8mb4_bin, v VARCHAR(255), w VARCHAR(255))`);
  await db.query(`INSERT INTO ${table} VALUES ${ROWS.map((row) => `(${row.map((value) => sqlLiteral(value, true)).join(', ')})`).join(', ')}`);
  await db.query(`CREATE PROCEDURE ${procedure}(IN key_in VARCHAR(255)) READS SQL DATA SELECT v FROM ${table} WHERE k = key_in`);
});
after(async () => {
  if (db === undefined) return;
  await db.query(`DROP PROCEDURE IF EXISTS ${procedure}`);
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.end();
});

const settingsWith = (hosts: string): Record<string, string> => ({ hosts, user: 'root', dbname: 'test' });
const driver = {
  type: 'mysql',
  table,
  settings: () => settingsWith(`127.0.0.1:${PORT}`),
  allColumns: true,
  port: PORT,
  settingsWith,
  slowQuery: "SELECT SLEEP(3) FROM DUAL WHERE '%s' <> ''",
} as const;
defineSqlTableTests(driver, skip);
defineSqlServerTests(driver, skip);

const dir = tableDir('mysql-own');
const query = `SELECT v FROM ${table} WHERE k = '%s'`;

test('mysql: values are escaped as mysql_real_escape_string does', () => {
  assert.equal(mysqlQuote('a\'b"c\\d\0e\nf\rg\x1ah'), 'a\\\'b\\"c\\\\d\\0e\\nf\\rg\\Zh');
});

test('mysql: unix:/path sockets, and "localhost" meaning the local socket', { skip: skip || (!existsSync(SOCKET) && `${SOCKET} is missing`) }, async () => {
  assert.deepEqual(await lookupAll('mysql', dir, { ...settingsWith(`unix:${SOCKET}`), query }, ['bob']), ['bare']);
  assert.deepEqual(await lookupAll('mysql', dir, { ...settingsWith('localhost'), query }, ['bob']), ['bare']);
});

test('mysql: option_file and option_group supply what the table file leaves out', { skip }, async () => {
  const options = join(dir, 'my.cnf');
  writeFileSync(options, `# client settings\n[client]\nuser = nobody-wrong\nport = 1\n[petrel]\nuser = root\nport = "${PORT}"\n[mysqld]\nuser = mysql\n`);
  const settings = { hosts: '127.0.0.1', dbname: 'test', option_file: options, option_group: 'petrel', query };
  assert.deepEqual(await lookupAll('mysql', dir, settings, ['bob']), ['bare']);
  writeFileSync(options, `[client]\nssl-crl = /etc/ssl/crl.pem\n`);
  await assert.rejects(openWith('mysql', dir, settings), /ssl-crl is not supported/);
  await assert.rejects(openWith('mysql', dir, { ...settings, option_file: join(dir, 'missing.cnf') }), /missing\.cnf/);
});

test('mysql: TLS settings are honoured: a CA demands TLS, which this server (have_ssl DISABLED) cannot give', { skip }, async () => {
  const pki = makeTestPki();
  after(() => rmSync(pki.dir, { recursive: true, force: true }));
  const base = { ...settingsWith(`127.0.0.1:${PORT}`), query };
  const tls = await openWith('mysql', dir, { ...base, tls_CAfile: pki.caCert, tls_cert_file: pki.clientCert, tls_key_file: pki.clientKey });
  try {
    await assert.rejects(tls.lookup('bob'), isTemporaryFailure);
  } finally {
    await tls.close();
  }
  await assert.rejects(openWith('mysql', dir, { ...base, tls_cert_file: join(dir, 'none.pem') }), /cannot read .*none\.pem/);
  await assert.rejects(openWith('mysql', dir, { ...base, tls_cert_file: pki.clientCert, tls_key_file: pki.serverKey }), /private key does not match/);
  await assert.rejects(openWith('mysql', dir, { ...base, tls_key_file: pki.clientKey }), /tls_key_file is set without tls_cert_file/);
  await assert.rejects(openWith('mysql', dir, { ...base, tls_verify_cert: 'maybe' }), /bad boolean configuration: .*tls_verify_cert = maybe/);
});

test('mysql: a query without a result set is an error, or "not found" with require_result_set = no', { skip }, async () => {
  const noSet = await openWith('mysql', dir, { ...settingsWith(`127.0.0.1:${PORT}`), query: "DO '%s'" });
  try {
    await assert.rejects(noSet.lookup('bob'), (err: unknown) => isTemporaryFailure(err) && /require_result_set/.test((err as Error).message));
  } finally {
    await noSet.close();
  }
  assert.deepEqual(await lookupAll('mysql', dir, { ...settingsWith(`127.0.0.1:${PORT}`), query: "DO '%s'", require_result_set: 'no' }, ['bob']), [undefined]);
});

test('mysql: a stored procedure answers with its result set', { skip }, async () => {
  const call = { ...settingsWith(`127.0.0.1:${PORT}`), query: `CALL ${procedure}('%s')` };
  assert.deepEqual(await lookupAll('mysql', dir, call, ['list@example.com', 'nobody']), ['a@example.com,b@example.com,c@example.net', undefined]);
});
