import assert from 'node:assert/strict';
import { test } from 'node:test';
import { printable } from '../../src/util/printable.js';

test('printable: ASCII text keeps space to "~"; line breaks, escapes, DEL and bytes beyond ASCII are replaced', () => {
  assert.equal(printable('HELO ok ~'), 'HELO ok ~');
  assert.equal(printable('a\r\nb\x1b[31m\x7f\x00'), 'a??b?[31m??');
  assert.equal(printable('caf\xe9'), 'caf?');
  assert.equal(printable('x\ty', { replacement: '_' }), 'x_y');
});

test('printable: UTF-8 text keeps its letters; C0, DEL and C1 controls are replaced', () => {
  assert.equal(printable('listed: café 5€', { utf8: true }), 'listed: café 5€');
  assert.equal(printable('a\nb\x7fc\x85d\x9be', { utf8: true }), 'a?b?c?d?e');
  assert.equal(printable('jürgen\r\n', { utf8: true, replacement: '_' }), 'jürgen__');
});
