/*
 * The answer cache of the tables that ask a server (table-cache.ts), on a
 * mysql: table against the real MariaDB: queries are counted on the wire
 * (COM_QUERY packets naming the test's table, through a forwarder between
 * the table and the server). With petrel_table_cache_time on, repeated and
 * concurrent lookups of a key send one query, found and not-found answers
 * alike; a changed row is seen within the bound and never served after
 * it; a temporary error is not kept. With 0, every lookup queries.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createConnection, type Connection } from 'mysql2/promise';
import { openTable } from '../../../src/global/tables/table-registry.js';
import type { LookupTable } from '../../../src/global/tables/table.js';
import { isTemporaryFailure, tableDir } from './sql-table-suite.js';
import { needServer, writeTableFile } from './sql-test-support.js';
import { queryCountingForwarder } from './table-servers.js';

const PORT = 3306;
const skip = await needServer(PORT, 'MariaDB (the table answer cache tests)');
const table = `petrel_tcache_${process.pid}`;
const dir = tableDir('tcache');
let db: Connection | undefined;

const counter = queryCountingForwarder(PORT, table);

before(async () => {
  if (skip !== false) return;
  db = await createConnection({ host: '127.0.0.1', port: PORT, user: 'root', database: 'test' });
  await db.query(`CREATE TABLE ${table} (k VARCHAR(255), v VARCHAR(255))`);
  await db.query(`INSERT INTO ${table} VALUES ('alice@example.com', 'one'), ('bob@example.com', 'bob')`);
  await counter.server.listen();
});
after(async () => {
  await counter.server.stop();
  if (db === undefined) return;
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.end();
});

let files = 0;

/** A mysql: table on a new file, reaching MariaDB through the counter, with answers cached for cacheTime seconds. */
function openCounted(cacheTime: number): Promise<LookupTable> {
  const path = writeTableFile(dir, `cache${++files}.cf`, { hosts: `127.0.0.1:${counter.server.port}`, user: 'root', dbname: 'test', query: `SELECT v FROM ${table} WHERE k = '%s'` });
  return openTable(`mysql:${path}`, { configDir: dir, cacheTime });
}

/** The queries sent while use ran. */
async function queriesDuring(use: () => Promise<void>): Promise<number> {
  const start = counter.queries();
  await use();
  return counter.queries() - start;
}

test('cache on: repeated and concurrent lookups of a key send one query, for found and not-found answers', { skip }, async () => {
  const cached = await openCounted(60);
  try {
    assert.equal(await queriesDuring(async () => {
      for (let i = 0; i < 5; i++) assert.equal(await cached.lookup('alice@example.com'), 'one');
    }), 1);
    assert.equal(await queriesDuring(async () => {
      for (let i = 0; i < 5; i++) assert.equal(await cached.lookup('nobody@example.com'), undefined);
    }), 1);
    assert.equal(await queriesDuring(async () => {
      const answers = await Promise.all(Array.from({ length: 10 }, () => cached.lookup('BOB@example.com')));
      assert.deepEqual(new Set(answers), new Set(['bob']));
    }), 1);
  } finally {
    await cached.close();
  }
});

test('cache on: a changed row is seen within petrel_table_cache_time, and never served after it', { skip }, async () => {
  assert.ok(db !== undefined);
  const boundMs = 1000;
  const cached = await openCounted(boundMs / 1000);
  try {
    assert.equal(await cached.lookup('alice@example.com'), 'one');
    await db.query(`UPDATE ${table} SET v = 'two' WHERE k = 'alice@example.com'`);
    const changed = performance.now();
    for (;;) {
      const asked = performance.now();
      const answer = await cached.lookup('alice@example.com');
      if (answer === 'two') break;
      assert.equal(answer, 'one');
      assert.ok(asked - changed < boundMs, `the old value was still served to a lookup made ${Math.round(asked - changed)} ms after the change`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // The fresh answer is cached in turn.
    assert.equal(await queriesDuring(async () => assert.equal(await cached.lookup('alice@example.com'), 'two')), 0);
  } finally {
    await cached.close();
    await db.query(`UPDATE ${table} SET v = 'one' WHERE k = 'alice@example.com'`);
  }
});

test('cache on: a temporary error is not kept; the next lookup asks the server again', { skip }, async () => {
  const cached = await openCounted(60);
  try {
    await counter.server.stop();
    await assert.rejects(cached.lookup('carol@example.com'), isTemporaryFailure);
    await counter.server.listen();
    assert.equal(await queriesDuring(async () => assert.equal(await cached.lookup('carol@example.com'), undefined)), 1);
  } finally {
    await cached.close();
  }
});

test('petrel_table_cache_time = 0: every lookup queries', { skip }, async () => {
  const uncached = await openCounted(0);
  try {
    assert.equal(await queriesDuring(async () => {
      for (let i = 0; i < 5; i++) assert.equal(await uncached.lookup('alice@example.com'), 'one');
      for (let i = 0; i < 3; i++) assert.equal(await uncached.lookup('nobody@example.com'), undefined);
    }), 8);
  } finally {
    await uncached.close();
  }
});
