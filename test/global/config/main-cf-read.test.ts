import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMainCf } from '../../../src/global/config/main-cf-read.js';
import { PetrelError } from '../../../src/global/errors.js';
import { captureMessages } from '../../../src/util/msg.js';

test('continuations, comments, blank lines and trimming', () => {
  const text = [
    '# a comment',
    'myhostname = mx.example.com   ',
    '',
    'mydestination = $myhostname,',
    '    localhost.$mydomain,',
    '  # an indented comment is still a comment',
    '\tlocalhost',
    'empty =',
    'no_space=x=y',
  ].join('\n');
  const cf = parseMainCf(text, 'main.cf');
  assert.deepEqual(
    [...cf.settings.values()].map((s) => [s.name, s.value, s.line]),
    [
      ['myhostname', 'mx.example.com', 2],
      ['mydestination', '$myhostname,    localhost.$mydomain,\tlocalhost', 4],
      ['empty', '', 8],
      ['no_space', 'x=y', 9],
    ],
  );
});

test('the last setting wins, with Postfix\'s warning', () => {
  const { messages, result } = captureMessages(() => parseMainCf('a = 1\nb = 2\na = 3\n', '/etc/petrel/main.cf'));
  assert.equal(result.settings.get('a')?.value, '3');
  assert.deepEqual([...result.settings.keys()], ['b', 'a']);
  assert.deepEqual(messages, ['warning: /etc/petrel/main.cf, line 3: overriding earlier entry: a=1']);
});

test('a line without = names file and line', () => {
  assert.throws(() => parseMainCf('a = 1\njunk line\n', '/x/main.cf'), (err: unknown) => {
    assert.ok(err instanceof PetrelError);
    assert.equal(err.message, '/x/main.cf, line 2: missing \'=\' after attribute name: "junk line"');
    return true;
  });
});
