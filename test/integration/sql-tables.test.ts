/*
 * mysql: tables in a running instance: local_recipient_maps (smtpd) and
 * virtual_alias_maps through proxy: (cleanup) read MariaDB; while the
 * database is unreachable RCPT gets a temporary refusal, never "User
 * unknown", and once it is back mail flows again without a restart (with
 * petrel_table_cache_time = 0, so that no answer from before the outage
 * is reused). A second instance keeps answers for petrel_table_cache_time
 * = 10s: repeated RCPTs for a user make one query (counted on the wire),
 * and a user removed from the table is refused within the 10 s.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createConnection, type Connection } from 'mysql2/promise';
import { TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';
import { needServer, writeTableFile } from '../global/tables/sql-test-support.js';
import { forwarder, queryCountingForwarder, type TestServer } from '../global/tables/table-servers.js';

const skip = await needServer(3306, 'MariaDB (mysql: tables in a running instance)');
const table = `petrel_sqlit_${process.pid}`;
let db: Connection | undefined;
let proxy: TestServer | undefined;
let mx: TestInstance | undefined;
let cachingMx: TestInstance | undefined;
const counter = queryCountingForwarder(3306, table);
/** The cache time of the second instance. */
const CACHE_SECONDS = 10;
const files = mkdtempSync(join(tmpdir(), 'petrel-sqlit-'));

before(async () => {
  if (skip !== false) return;
  db = await createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: 'test' });
  await db.query(`CREATE TABLE ${table} (address VARCHAR(255), goto VARCHAR(255))`);
  await db.query(`INSERT INTO ${table} VALUES ('alice', 'alice'), ('bob', 'bob'), ('team', 'team'), ('team@localhost', 'alice@localhost'), ('team@localhost', 'bob@localhost')`);
  proxy = await forwarder(3306).listen();
  const connection = { hosts: `127.0.0.1:${proxy.port}`, user: 'root', dbname: 'test' };
  const users = writeTableFile(files, 'mysql-users.cf', { ...connection, query: `SELECT address FROM ${table} WHERE address = '%u' AND '%d' = 'localhost'` });
  const aliases = writeTableFile(files, 'mysql-aliases.cf', { ...connection, query: `SELECT goto FROM ${table} WHERE address = '%s'`, domain: 'localhost' });
  mx = await TestInstance.create('', 'postmaster: root\n', { local_recipient_maps: `mysql:${users}`, virtual_alias_maps: `proxy:mysql:${aliases}`, petrel_table_cache_time: '0' });
  mx.start();
  await counter.server.listen();
  const counted = writeTableFile(files, 'mysql-counted.cf', { hosts: `127.0.0.1:${counter.server.port}`, user: 'root', dbname: 'test', query: `SELECT address FROM ${table} WHERE address = '%u' AND '%d' = 'localhost'` });
  cachingMx = await TestInstance.create('', 'postmaster: root\n', { local_recipient_maps: `mysql:${counted}`, petrel_table_cache_time: `${CACHE_SECONDS}s` });
  cachingMx.start();
});
after(async () => {
  mx?.remove();
  cachingMx?.remove();
  await counter.server.stop();
  rmSync(files, { recursive: true, force: true });
  await proxy?.stop();
  if (db !== undefined) {
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.end();
  }
});

test('mysql: tables decide RCPT and expand aliases; an unreachable database is a temporary refusal, then mail flows again', { skip }, async () => {
  assert.ok(mx !== undefined && proxy !== undefined);
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  assert.equal(await client.command('MAIL FROM:<sender@example.org>'), '250 2.1.0 Ok');
  assert.equal(await client.command('RCPT TO:<nobody@localhost>'), '550 5.1.1 <nobody@localhost>: Recipient address rejected: User unknown in local recipient table');
  assert.equal(await client.command('RSET'), '250 2.0.0 Ok');
  assert.match(await client.send('sender@example.org', ['team@localhost'], 'Subject: team\n\nto the team\n'), /^250 2\.0\.0 Ok/);
  await client.quit();
  await mx.waitForLog(/to=<alice@localhost>, orig_to=<team@localhost>, relay=local, .*status=sent/);
  await mx.waitForLog(/to=<bob@localhost>, orig_to=<team@localhost>, relay=local, .*status=sent/);

  await proxy.stop();
  const down = await SmtpClient.open(mx.port);
  await down.client.command('EHLO client.example');
  await down.client.command('MAIL FROM:<sender@example.org>');
  const refused = await down.client.command('RCPT TO:<alice@localhost>');
  assert.equal(refused, '451 4.3.0 <alice@localhost>: Temporary lookup failure');
  await mx.waitForLog(/mysql server 127\.0\.0\.1:\d+: connect ECONNREFUSED/);

  await proxy.listen();
  const { client: again } = await SmtpClient.open(mx.port);
  await again.command('EHLO client.example');
  assert.match(await again.send('sender@example.org', ['bob@localhost'], 'Subject: back\n\ndatabase back\n'), /^250 2\.0\.0 Ok/);
  await again.quit();
  await mx.waitForLog(/to=<bob@localhost>, relay=local, .*status=sent/);
});

/** The reply to RCPT TO:<rcpt> in a new session with instance. */
async function rcptReply(instance: TestInstance, rcpt: string): Promise<string> {
  const { client } = await SmtpClient.open(instance.port);
  await client.command('EHLO client.example');
  await client.command('MAIL FROM:<sender@example.org>');
  const reply = await client.command(`RCPT TO:<${rcpt}>`);
  await client.quit();
  return reply;
}

test('petrel_table_cache_time = 10s: repeated RCPTs for a user make one query; a removed user is refused within the 10 s', { skip }, async () => {
  assert.ok(cachingMx !== undefined && db !== undefined);
  const { client } = await SmtpClient.open(cachingMx.port);
  await client.command('EHLO client.example');
  await client.command('MAIL FROM:<sender@example.org>');
  const start = counter.queries();
  const began = performance.now();
  for (let i = 0; i < 5; i++) assert.match(await client.command('RCPT TO:<bob@localhost>'), /^250 /);
  const took = Math.round(performance.now() - began);
  await client.quit();
  assert.equal(counter.queries() - start, 1, `five RCPTs in ${took} ms, within the cache time: one query`);
  await db.query(`DELETE FROM ${table} WHERE address = 'bob'`);
  const changed = performance.now();
  for (;;) {
    const asked = performance.now();
    const reply = await rcptReply(cachingMx, 'bob@localhost');
    if (/^550 5\.1\.1 /.test(reply)) break;
    assert.match(reply, /^250 /);
    assert.ok(asked - changed < CACHE_SECONDS * 1000, `bob was still accepted in a session started ${Math.round(asked - changed)} ms after his removal`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});
