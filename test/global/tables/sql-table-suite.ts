/*
 * sql-table-suite - the behaviour every SQL table type shares, run by
 * table-mysql.test.ts, table-pgsql.test.ts and table-sqlite.test.ts
 * against the real database: lookups, key folding, quoting, the %
 * expansions, the domain filter, result_format, expansion_limit and the
 * legacy query form; and, for the client-server types, failover, a server
 * that stops and comes back, and the query deadline. Each driver brings its
 * own table (a unique name) filled with ROWS.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PetrelError } from '../../../src/global/errors.js';
import { openTable } from '../../../src/global/tables/table-registry.js';
import type { LookupTable } from '../../../src/global/tables/table.js';
import { closedPort, writeTableFile } from './sql-test-support.js';
import { forwarder } from './table-servers.js';

/** The rows (key, value, second value) every driver's table holds; keys are compared case-sensitively. */
export const ROWS: readonly (readonly [string, string | null, string | null])[] = [
  ['alice@example.com', 'alice@mail.example.com', null],
  ['list@example.com', 'a@example.com', null],
  ['list@example.com', 'b@example.com', null],
  ['list@example.com', 'c@example.net', null],
  ['multi@example.com', 'one', 'two'],
  ['empty@example.com', '', null],
  ['null@example.com', null, null],
  ["o'b\\c@example.com", 'quoted', null],
  ['example.com', 'the domain', null],
  ['bob', 'bare', null],
  ['Mixed@Example.com', 'mixed', null],
  ['x@sub.example.org', 'sub', null],
];

/** A SQL literal for a ROWS value, standard quoting. */
export function sqlLiteral(value: string | null, backslashes: boolean): string {
  if (value === null) return 'NULL';
  const escaped = value.replace(/'/g, "''");
  return `'${backslashes ? escaped.replace(/\\/g, '\\\\') : escaped}'`;
}

/** What a driver's test file provides. */
export interface SqlSuiteDriver {
  readonly type: 'mysql' | 'pgsql' | 'sqlite';
  /** The table holding ROWS (columns k, v, w). */
  readonly table: string;
  /** Settings that reach the database (hosts, user, dbname, or dbpath). */
  settings(): Record<string, string>;
  /** True when every column counts (mysql, pgsql); sqlite reads the first only. */
  readonly allColumns: boolean;
}

/** What a client-server driver adds for the network tests. */
export interface SqlServerDriver extends SqlSuiteDriver {
  readonly type: 'mysql' | 'pgsql';
  /** The server's TCP port on 127.0.0.1. */
  readonly port: number;
  /** The connection settings, reaching the server through hosts. */
  settingsWith(hosts: string): Record<string, string>;
  /** A query that takes three seconds. */
  readonly slowQuery: string;
}

/** A temporary directory for the suite's table files. */
export function tableDir(type: string): string {
  const dir = mkdtempSync(join(tmpdir(), `petrel-${type}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let fileCount = 0;

/** Opens a table of driver's type on a new file with these settings. */
export async function openWith(type: string, dir: string, settings: Record<string, string>, foldKeys = true): Promise<LookupTable> {
  const path = writeTableFile(dir, `t${++fileCount}.cf`, settings);
  return openTable(`${type}:${path}`, { configDir: dir, foldKeys });
}

/** Looks keys up in a new table and closes it; each answer in order. */
export async function lookupAll(type: string, dir: string, settings: Record<string, string>, keys: readonly string[], foldKeys = true): Promise<(string | undefined)[]> {
  const table = await openWith(type, dir, settings, foldKeys);
  try {
    const answers: (string | undefined)[] = [];
    for (const key of keys) answers.push(await table.lookup(key));
    return answers;
  } finally {
    await table.close();
  }
}

/** True for a temporary PetrelError (what callers turn into 4xx and deferrals). */
export function isTemporaryFailure(err: unknown): boolean {
  return err instanceof PetrelError && err.temporary;
}

/** Registers the shared lookup tests for driver (skipped with skip). */
export function defineSqlTableTests(driver: SqlSuiteDriver, skip: false | string): void {
  const { type, table } = driver;
  const dir = tableDir(type);
  const query = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...driver.settings(),
    query: `SELECT v, w FROM ${table} WHERE k = '%s'`,
    ...extra,
  });

  test(`${type}: found, not found, rows joined with commas, NULL and empty values skipped`, { skip }, async () => {
    const keys = ['alice@example.com', 'list@example.com', 'multi@example.com', 'empty@example.com', 'null@example.com', 'nobody@example.com', 'bob'];
    assert.deepEqual(await lookupAll(type, dir, query(), keys), [
      'alice@mail.example.com',
      'a@example.com,b@example.com,c@example.net',
      driver.allColumns ? 'one,two' : 'one',
      undefined,
      undefined,
      undefined,
      'bare',
    ]);
  });

  test(`${type}: keys are folded to lower case, unless the table is opened without folding (postmap -f)`, { skip }, async () => {
    assert.deepEqual(await lookupAll(type, dir, query(), ['ALICE@Example.COM', 'Mixed@Example.com']), ['alice@mail.example.com', undefined]);
    assert.deepEqual(await lookupAll(type, dir, query(), ['ALICE@Example.COM', 'Mixed@Example.com'], false), [undefined, 'mixed']);
  });

  test(`${type}: keys are quoted: an injection attempt finds nothing, quotes and backslashes are looked up as written`, { skip }, async () => {
    const keys = ["x' OR '1'='1", "x' OR 'a'='a' -- ", "o'b\\c@example.com", "' UNION SELECT k, v FROM " + table + " -- "];
    assert.deepEqual(await lookupAll(type, dir, query(), keys), [undefined, undefined, 'quoted', undefined]);
  });

  test(`${type}: %u, %d and %1-%9 expand the key's parts; a key lacking a part is not looked up`, { skip }, async () => {
    const parts = query({ query: `SELECT v FROM ${table} WHERE k = '%u@%d' AND '%1' = 'com' AND '%2' = 'example'` });
    assert.deepEqual(await lookupAll(type, dir, parts, ['alice@example.com', 'bob', 'example.com', '@example.com', 'x@sub.example.org']), [
      'alice@mail.example.com',
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    const user = query({ query: `SELECT v FROM ${table} WHERE k = '%u'` });
    assert.deepEqual(await lookupAll(type, dir, user, ['bob', 'bob@anywhere.example', '@example.com']), ['bare', 'bare', undefined]);
    const percent = query({ query: `SELECT '100%%' FROM ${table} WHERE k = '%s'` });
    assert.deepEqual(await lookupAll(type, dir, percent, ['bob']), ['100%']);
  });

  test(`${type}: the domain list limits lookups to user@domain keys of listed domains`, { skip }, async () => {
    const listed = query({ domain: 'example.com, inline:{ sub.example.org=yes }' });
    const keys = ['alice@example.com', 'ALICE@EXAMPLE.COM', 'x@sub.example.org', 'example.com', 'bob', '@example.com', 'alice@other.example.com'];
    assert.deepEqual(await lookupAll(type, dir, listed, keys), ['alice@mail.example.com', 'alice@mail.example.com', 'sub', undefined, undefined, undefined, undefined]);
  });

  test(`${type}: result_format formats each value; values lacking a part it needs are skipped`, { skip }, async () => {
    const formatted = query({ query: `SELECT v FROM ${table} WHERE k = '%s'`, result_format: 'smtp:[%d] %u (%S %U %D %1)' });
    assert.deepEqual(await lookupAll(type, dir, formatted, ['alice@example.com', 'list@example.com', 'multi@example.com', 'bob']), [
      'smtp:[mail.example.com] alice (alice@example.com alice example.com com)',
      'smtp:[example.com] a (list@example.com list example.com com),smtp:[example.com] b (list@example.com list example.com com),smtp:[example.net] c (list@example.com list example.com com)',
      undefined,
      undefined,
    ]);
  });

  test(`${type}: more results than expansion_limit is a temporary error`, { skip }, async () => {
    const limited = await openWith(type, dir, query({ expansion_limit: '2' }));
    try {
      assert.equal(await limited.lookup('alice@example.com'), 'alice@mail.example.com');
      await assert.rejects(limited.lookup('list@example.com'), (err: unknown) => isTemporaryFailure(err) && /expansion limit exceeded/.test((err as Error).message));
    } finally {
      await limited.close();
    }
  });

  test(`${type}: the legacy select_field / table / where_field / additional_conditions form`, { skip }, async () => {
    const legacy = { ...driver.settings(), select_field: 'v', table, where_field: 'k', additional_conditions: "AND v <> 'b@example.com'" };
    assert.deepEqual(await lookupAll(type, dir, legacy, ['list@example.com', 'bob']), ['a@example.com,c@example.net', 'bare']);
  });

  test(`${type}: bad configurations are errors when the table is opened`, { skip }, async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [query({ query: "SELECT v FROM t WHERE k = '%x'" }), /query: invalid %-sequence "%x"/],
      [query({ result_format: '%' }), /result_format: invalid %-sequence "%"/],
      [query({ expansion_limit: 'many' }), /bad numerical configuration: .*expansion_limit = many/],
      [driver.settings(), /query is not set/],
      [query({ tls_protocols: 'TLSv1.3' }), /tls_protocols is not supported/],
    ];
    for (const [settings, says] of cases) await assert.rejects(openWith(type, dir, settings), says);
    await assert.rejects(openTable(`${type}:relative-name`, { configDir: dir }), /main\.cf form .* is not supported/);
    if (type !== 'sqlite') await assert.rejects(openWith(type, dir, { ...query(), dbname: '' }), /dbname is not set/);
  });
}

/** Registers the client-server tests (failover, restart, deadline, shared pools) for driver. */
export function defineSqlServerTests(driver: SqlServerDriver, skip: false | string): void {
  const { type, table } = driver;
  const dir = tableDir(`${type}-net`);
  const query = `SELECT v FROM ${table} WHERE k = '%s'`;
  let down = 0;
  before(async () => {
    down = await closedPort();
  });

  test(`${type}: hosts are tried in order; a host that is down fails over to the next`, { skip }, async () => {
    const settings = { ...driver.settingsWith(`inet:127.0.0.1:${down} 127.0.0.1:${driver.port}`), query };
    assert.deepEqual(await lookupAll(type, dir, settings, ['alice@example.com', 'bob', 'nobody']), ['alice@mail.example.com', 'bare', undefined]);
  });

  test(`${type}: no reachable host is a temporary error, never "not found"`, { skip }, async () => {
    const table = await openWith(type, dir, { ...driver.settingsWith(`127.0.0.1:${down}`), query });
    try {
      await assert.rejects(table.lookup('alice@example.com'), (err: unknown) => isTemporaryFailure(err) && err instanceof Error && err.message.includes(String(down)));
      await assert.rejects(table.lookup('nobody'), isTemporaryFailure);
    } finally {
      await table.close();
    }
  });

  test(`${type}: a server that stops mid-run fails lookups temporarily, and is used again once back`, { skip }, async () => {
    const proxy = await forwarder(driver.port).listen();
    const lookups = await openWith(type, dir, { ...driver.settingsWith(`127.0.0.1:${proxy.port}`), query });
    try {
      assert.equal(await lookups.lookup('alice@example.com'), 'alice@mail.example.com');
      await proxy.stop();
      await assert.rejects(lookups.lookup('alice@example.com'), isTemporaryFailure);
      await assert.rejects(lookups.lookup('nobody@example.com'), isTemporaryFailure);
      await proxy.listen();
      assert.equal(await lookups.lookup('alice@example.com'), 'alice@mail.example.com');
      // A restart between two lookups (the pooled connection is dead, nothing failed yet) is not seen at all.
      await proxy.stop();
      await proxy.listen();
      assert.equal(await lookups.lookup('bob'), 'bare');
    } finally {
      await lookups.close();
      await proxy.stop();
    }
  });

  test(`${type}: a query that outlives the timeout is a temporary error`, { skip }, async () => {
    const slow = await openWith(type, dir, { ...driver.settingsWith(`127.0.0.1:${driver.port}`), query: driver.slowQuery, timeout: '1' });
    try {
      const started = Date.now();
      await assert.rejects(slow.lookup('anything'), (err: unknown) => isTemporaryFailure(err) && /timed out/.test((err as Error).message));
      assert.ok(Date.now() - started < 2500, `gave up after ${Date.now() - started} ms`);
    } finally {
      await slow.close();
    }
  });

  test(`${type}: tables opened on the same file share its connections; the last close releases them`, { skip }, async () => {
    const path = writeTableFile(dir, 'shared.cf', { ...driver.settingsWith(`127.0.0.1:${driver.port}`), query });
    const first = await openTable(`${type}:${path}`, { configDir: dir });
    const second = await openTable(`proxy:${type}:${path}`, { configDir: dir });
    assert.equal(await first.lookup('bob'), 'bare');
    await first.close();
    assert.equal(await second.lookup('bob'), 'bare');
    await second.close();
  });
}
