import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { convertParam, splitList } from '../../../src/global/config/param-convert.js';
import { PetrelError } from '../../../src/global/errors.js';
import type { ParamSpec } from '../../../src/global/params/param-types.js';

const spec = (kind: ParamSpec['kind'], extra: Partial<ParamSpec> = {}): ParamSpec => ({ kind, default: '', doc: '', ...extra });

test('typed conversions', () => {
  const cases: [ParamSpec, string, unknown][] = [
    [spec('int'), '42', 42],
    [spec('int'), ' -3 ', -3],
    [spec('size'), '10240000', 10240000],
    [spec('bool'), 'yes', true],
    [spec('bool'), 'NO', false],
    [spec('bool'), 'true', true],
    [spec('time'), '300s', 300],
    [spec('time'), '300', 300],
    [spec('time'), '5m', 300],
    [spec('time'), '2h', 7200],
    [spec('time', { timeUnit: 'd' }), '5', 432000],
    [spec('time', { timeUnit: 'h' }), '0h', 0],
    [spec('time'), '1w', 604800],
    [spec('list'), 'a, b,c  d', ['a', 'b', 'c', 'd']],
    [spec('list'), '', []],
    [spec('tables'), 'hash:/etc/aliases, nis:mail.aliases', ['hash:/etc/aliases', 'nis:mail.aliases']],
    [spec('string'), '  x y  ', 'x y'],
  ];
  for (const [s, text, want] of cases) assert.deepEqual(convertParam('p', s, text), want, `${s.kind} ${text}`);
});

test('bad values and bounds are configuration errors naming the parameter', () => {
  const cases: [ParamSpec, string, RegExp][] = [
    [spec('int'), '12x', /bad numerical configuration: p = 12x/],
    [spec('size'), '-1', /bad numerical configuration/],
    [spec('bool'), 'maybe', /bad boolean configuration: p = maybe/],
    [spec('time'), '5y', /bad time configuration: p = 5y/],
    [spec('int', { min: 1 }), '0', /invalid p parameter value 0: must be at least 1/],
    [spec('int', { max: 10 }), '11', /must be at most 10/],
  ];
  for (const [s, text, want] of cases) assert.throws(() => convertParam('p', s, text), (err: unknown) => err instanceof PetrelError && want.test(err.message));
});

test('braces group a list item; /file items are read where allowed', () => {
  assert.deepEqual(splitList('check_policy_service { inet:127.0.0.1:9998, timeout=10s }, reject'), [
    'check_policy_service',
    '{ inet:127.0.0.1:9998, timeout=10s }',
    'reject',
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'petrel-'));
  try {
    const file = join(dir, 'domains');
    writeFileSync(file, '# local domains\nexample.com, example.net # trailing\n\nexample.org\n');
    assert.deepEqual(convertParam('mydestination', spec('list', { fileItems: true }), `localhost ${file}`), [
      'localhost',
      'example.com',
      'example.net',
      'example.org',
    ]);
    assert.deepEqual(convertParam('other', spec('list'), file), [file]);
    assert.throws(() => convertParam('mydestination', spec('list', { fileItems: true }), join(dir, 'missing')), /mydestination: open/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
