import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeXtext, encodeXtext } from '../../src/global/xtext.js';

test('xtext: "+", "=", spaces and non-ASCII bytes are encoded; decoding gives the text back', () => {
  const cases: readonly (readonly [string, string])[] = [
    ['rfc822;list+perm2@example.org', 'rfc822;list+2Bperm2@example.org'],
    ['a=b c', 'a+3Db+20c'],
    ['rfc822;jürgen@example.org', 'rfc822;j+C3+BCrgen@example.org'],
  ];
  for (const [text, encoded] of cases) {
    assert.equal(encodeXtext(text), encoded);
    assert.equal(decodeXtext(encoded), text);
  }
  assert.equal(decodeXtext('plain+zz'), 'plain+zz');
});
