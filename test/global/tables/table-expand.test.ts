import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PetrelError } from '../../../src/global/errors.js';
import { expandKey, expandResult, openDomainFilter, parseTemplate } from '../../../src/global/tables/table-expand.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-expand-'));
after(() => rmSync(dir, { recursive: true }));

test('key templates expand %s %u %d %1..%9 and suppress the lookup when a part is missing', () => {
  const cases: [string, string, string | undefined][] = [
    ['%s', 'user@mail.example.com', 'user@mail.example.com'],
    ['user:%u:%d', 'user@mail.example.com', 'user:user:mail.example.com'],
    ['%1/%2/%3/%u', 'user@mail.example.com', 'com/example/mail/user'],
    ['%4', 'user@mail.example.com', undefined],
    ['%u', 'plain', 'plain'],
    ['%d', 'plain', undefined],
    ['%u', '@example.com', undefined],
    ['%d', 'user@', undefined],
    ['%S-%U-%D', 'a@b.c', 'a@b.c-a-b.c'],
    ['100%% %s', 'k', '100% k'],
    ['%d', 'a@b@c.d', 'c.d'],
  ];
  for (const [template, key, want] of cases) assert.equal(expandKey(parseTemplate(template, 'test'), key), want, `${template} ${key}`);
  assert.equal(expandKey(parseTemplate("'%s'", 'test'), "o'neil", (text) => text.replaceAll("'", "''")), "'o''neil'", 'pieces are quoted, the template is not');
});

test('result templates take %s %u %d from the value and %S %U %D %1..%9 from the key, skipping what is missing', () => {
  const cases: [string, string, string, string | undefined][] = [
    ['%s', 'v', 'k', 'v'],
    ['%s', '', 'k', undefined],
    ['%u@other.example', 'bob@example.com', 'k', 'bob@other.example'],
    ['%d', 'plain', 'k', undefined],
    ['%s for %U at %D (%1)', 'value', 'user@example.org', 'value for user at example.org (org)'],
    ['%D', 'value', 'unqualified', undefined],
  ];
  for (const [template, value, key, want] of cases) assert.equal(expandResult(parseTemplate(template, 'test'), value, key), want, `${template} ${value} ${key}`);
});

test('unknown %-codes are configuration errors naming where', () => {
  for (const template of ['%x', 'tail %', '%0']) {
    assert.throws(() => parseTemplate(template, '/etc/petrel/t.cf: key_format'), (err: unknown) =>
      err instanceof PetrelError && err.code === 'config' && /^\/etc\/petrel\/t\.cf: key_format: invalid %-sequence/.test(err.message), template);
  }
});

test('the domain filter passes user@domain keys of listed domains: names, /files, tables and negations', async () => {
  const file = join(dir, 'domains');
  writeFileSync(file, '# hosted\nfile.example, other.example\n');
  const filter = await openDomainFilter(['Example.com', file, 'inline:{ table.example=1, sub.neg.example=1 }', '!neg.example', 'neg.example'], { configDir: dir }, 'test');
  const cases: [string, boolean][] = [
    ['user@example.com', true],
    ['user@EXAMPLE.COM', true],
    ['user@sub.example.com', false],
    ['user@file.example', true],
    ['user@other.example', true],
    ['user@table.example', true],
    ['user@sub.neg.example', true],
    ['user@neg.example', false],
    ['@example.com', false],
    ['example.com', false],
    ['user', false],
  ];
  for (const [key, want] of cases) assert.equal(await filter.eligible(key), want, key);
  await filter.close();
  const none = await openDomainFilter([], { configDir: dir }, 'test');
  assert.equal(await none.eligible('anything'), true);
  await assert.rejects(openDomainFilter([join(dir, 'missing')], { configDir: dir }, 'test'), /test: open .*missing/);
});
