import assert from 'node:assert/strict';
import { test } from 'node:test';
import { headerAddresses } from '../../../src/global/addr/addr-header.js';

test('address headers: display names, quotes, comments, groups, route addresses', () => {
  const cases: [string, string[]][] = [
    ['a@x', ['a@x']],
    [' Alpha <alpha@x>, beta@x (Beta) ', ['alpha@x', 'beta@x']],
    ['"Gamma, G." <gamma@x>, "x <y>" <d@x>', ['gamma@x', 'd@x']],
    ['friends: a@x, b@x;, c@x', ['a@x', 'b@x', 'c@x']],
    ['undisclosed-recipients:;', []],
    ['<@route.example:e@x>', ['e@x']],
    ['a@x,\n\tb@x', ['a@x', 'b@x']],
  ];
  for (const [value, want] of cases) assert.deepEqual(headerAddresses(value), want, value);
});
