import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PetrelError } from '../../../src/global/errors.js';
import { openTableList } from '../../../src/global/tables/table-list.js';
import { openTable, TABLE_TYPES } from '../../../src/global/tables/table-registry.js';
import { waitFor } from '../../support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-tables-'));
after(() => rmSync(dir, { recursive: true }));
const ctx = { configDir: dir };

async function lookup(spec: string, key: string): Promise<string | undefined> {
  const table = await openTable(spec, ctx);
  try {
    return await table.lookup(key);
  } finally {
    await table.close();
  }
}

test('static, inline, unionmap, pipemap and proxy answer as Postfix\'s do', async () => {
  const cases: [string, string, string | undefined][] = [
    ['static:OK', 'anything', 'OK'],
    ['static:{ text with spaces }', 'x', 'text with spaces'],
    ['inline:{ a=1, B=2, { c = three four } }', 'A', '1'],
    ['inline:{ a=1, B=2, { c = three four } }', 'b', '2'],
    ['inline:{ a=1, B=2, { c = three four } }', 'c', 'three four'],
    ['inline:{ a=1 }', 'z', undefined],
    ['unionmap:{ inline:{k=1}, static:two, inline:{x=3} }', 'k', '1,two'],
    ['unionmap:{ inline:{k=1}, inline:{x=3} }', 'q', undefined],
    ['pipemap:{ inline:{k=1}, inline:{1=final} }', 'k', 'final'],
    ['pipemap:{ inline:{k=1}, inline:{2=final} }', 'k', undefined],
    ['proxy:inline:{k=v}', 'k', 'v'],
  ];
  for (const [spec, key, want] of cases) assert.equal(await lookup(spec, key), want, `${spec} ${key}`);
});

test('fail: and a failing member are temporary failures, never "not found"', async () => {
  for (const spec of ['fail:x', 'unionmap:{ inline:{a=1}, fail:y }', 'pipemap:{ inline:{a=1}, fail:y }', 'proxy:fail:z']) {
    await assert.rejects(lookup(spec, 'a'), (err: unknown) => err instanceof PetrelError && err.temporary, spec);
  }
  const list = await openTableList(['inline:{a=1}', 'fail:x', 'static:late'], ctx);
  assert.equal(await list.lookup('a'), '1');
  await assert.rejects(list.lookup('b'), (err: unknown) => err instanceof PetrelError && err.temporary);
});

test('table lists skip pattern tables for partial keys', async () => {
  const list = await openTableList(['static:from-static', 'inline:{@example.com=from-inline}'], ctx);
  assert.equal(await list.lookup('@example.com', { fixedOnly: true }), 'from-inline');
  assert.equal(await list.lookup('@example.com'), 'from-static');
  await list.close();
});

test('bad specifications are configuration errors', async () => {
  const cases: [string, RegExp][] = [
    ['nosuchtype:/x', /unsupported dictionary type: nosuchtype/],
    ['no-colon', /is not of the form type:name/],
    ['inline:a=1', /expected a list in \{ \}/],
    ['inline:{ a }', /expected key=value/],
    ['inline:{ a=1, B = 2 }', /expected key=value, found "B"/],
    ['unionmap:{ }', /empty table list/],
    ['unix:shadow', /unknown unix table/],
    ['proxy:proxy:inline:{a=1}', /may not be nested/],
  ];
  for (const [spec, want] of cases) await assert.rejects(openTable(spec, ctx), want, spec);
  assert.ok(Object.keys(TABLE_TYPES).includes('pcre'));
});

test('unix:passwd.byname gives the account line', async () => {
  assert.match((await lookup('unix:passwd.byname', 'root')) ?? '', /^root:[^:]*:0:0:/);
  assert.equal(await lookup('unix:passwd.byname', 'no-such-user-here'), undefined);
});

test('texthash re-reads a changed file without a restart', async () => {
  const file = join(dir, 'texthash');
  writeFileSync(file, 'Key old\n');
  const table = await openTable(`texthash:${file}`, ctx);
  assert.equal(await table.lookup('KEY'), 'old');
  writeFileSync(file, 'key new value\nother x\n');
  await waitFor(async () => (await table.lookup('key')) === 'new value', 'the table to read the changed file');
  assert.equal(await table.lookup('other'), 'x');
  await table.close();
});

test('a missing file is a temporary open failure naming the file', async () => {
  await assert.rejects(openTable(`hash:${join(dir, 'missing')}`, ctx), (err: unknown) =>
    err instanceof PetrelError && err.temporary && /open database .*missing\.db: No such file or directory/.test(err.message));
  await assert.rejects(openTable(`regexp:${join(dir, 'missing')}`, ctx), (err: unknown) => err instanceof PetrelError && err.temporary);
});
