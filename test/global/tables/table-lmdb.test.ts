import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { deleteFromIndexedFile, dumpIndexedFile, rebuildIndexedFile, updateIndexedFile } from '../../../src/global/tables/table-lmdb.js';
import { openTable } from '../../../src/global/tables/table-registry.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-lmdb-'));
after(() => rmSync(dir, { recursive: true }));
const ctx = { configDir: dir };

test('build, look up (case-folded), update, delete and dump', async () => {
  const name = join(dir, 'virtual');
  await rebuildIndexedFile(`${name}.db`, [['user@example.com', 'one'], ['other@example.com', 'two']]);
  const table = await openTable(`hash:${name}`, ctx);
  assert.equal(await table.lookup('USER@example.com'), 'one');
  assert.equal(await table.lookup('none@example.com'), undefined);
  assert.deepEqual(await updateIndexedFile(`${name}.db`, [['user@example.com', 'changed'], ['new@example.com', 'three']], false), ['user@example.com']);
  assert.equal(await deleteFromIndexedFile(`${name}.db`, ['other@example.com', 'absent']), 1);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(await table.lookup('new@example.com'), 'three');
  assert.deepEqual([...dumpIndexedFile(`${name}.db`)], [['new@example.com', 'three'], ['user@example.com', 'one']]);
  await table.close();
  const lmdb = join(dir, 'plain');
  await rebuildIndexedFile(`${lmdb}.lmdb`, [['k', 'v']]);
  assert.equal(await (await openTable(`lmdb:${lmdb}`, ctx)).lookup('k'), 'v');
  await assert.rejects(openTable(`lmdb:${name}`, ctx), /virtual\.lmdb: No such file/);
});

const READER = `
import { openTable } from ${JSON.stringify(new URL('../../../src/global/tables/table-registry.js', import.meta.url).href)};
const table = await openTable(process.argv[1], { configDir: '/' });
let mixed = 0, reads = 0;
const until = Date.now() + Number(process.argv[2]);
while (Date.now() < until) {
  const a = await table.lookup('key0'), b = await table.lookup('key999');
  reads++;
  if (a === undefined || b === undefined || a.split(' ')[0] !== b.split(' ')[0]) mixed++;
  await new Promise((r) => setImmediate(r));
}
console.log(JSON.stringify({ mixed, reads }));
`;

test('a reader in another process never sees a half-rebuilt table', async () => {
  const name = join(dir, 'atomic');
  const generation = (n: number): [string, string][] => Array.from({ length: 1000 }, (_, i) => [`key${i}`, `gen${n} ${i}`]);
  await rebuildIndexedFile(`${name}.db`, generation(0));
  const reader = spawn(process.execPath, ['--input-type=module', '-e', READER, `hash:${name}`, '1500'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  reader.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const done = new Promise((resolve) => reader.on('exit', resolve));
  for (let n = 1; n <= 20; n++) await rebuildIndexedFile(`${name}.db`, generation(n));
  await done;
  const { mixed, reads } = JSON.parse(out) as { mixed: number; reads: number };
  assert.ok(reads > 100, `the reader made ${reads} reads`);
  assert.equal(mixed, 0);
});
