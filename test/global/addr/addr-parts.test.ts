import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinAddress, splitAddress, splitExtension } from '../../../src/global/addr/addr-parts.js';

test('splitAddress splits at the last @', () => {
  const cases: Array<[string, string, string | undefined]> = [
    ['user@example.com', 'user', 'example.com'],
    ['"a@b"@example.com', '"a@b"', 'example.com'],
    ['user', 'user', undefined],
    ['@example.com', '', 'example.com'],
    ['user@', 'user', ''],
  ];
  for (const [address, local, domain] of cases) {
    assert.deepEqual(splitAddress(address), { local, domain }, address);
  }
});

test('splitExtension honours every delimiter character and ignores a leading one', () => {
  const cases: Array<[string, string, string, string | undefined]> = [
    ['user+foo', '+', 'user', '+foo'],
    ['user+foo+bar', '+', 'user', '+foo+bar'],
    ['user-foo', '+-', 'user', '-foo'],
    ['user+foo', '', 'user+foo', undefined],
    ['+foo', '+', '+foo', undefined],
    ['user', '+', 'user', undefined],
  ];
  for (const [local, delimiters, base, extension] of cases) {
    assert.deepEqual(splitExtension(local, delimiters), { base, extension }, `${local} with ${delimiters}`);
  }
});

test('joinAddress puts the parts back', () => {
  assert.equal(joinAddress('user', 'example.com'), 'user@example.com');
  assert.equal(joinAddress('user', undefined), 'user');
});
