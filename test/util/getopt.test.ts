import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getopt, GetoptError } from '../../src/util/getopt.js';

test('bundled letters, attached and separate values, -- and operands', () => {
  assert.deepEqual(getopt(['-nh', '-c/etc/x', '-q', '-', 'a', '-n'], 'c:hnq:'), {
    options: [{ letter: 'n' }, { letter: 'h' }, { letter: 'c', value: '/etc/x' }, { letter: 'q', value: '-' }],
    operands: ['a', '-n'],
  });
  assert.deepEqual(getopt(['-n', '--', '-h'], 'hn'), { options: [{ letter: 'n' }], operands: ['-h'] });
  assert.deepEqual(getopt(['-', 'x'], 'n'), { options: [], operands: ['-', 'x'] });
});

test('unknown letters and missing values are usage errors', () => {
  assert.throws(() => getopt(['-z'], 'n'), GetoptError);
  assert.throws(() => getopt(['-c'], 'c:'), /option requires an argument -- 'c'/);
});
