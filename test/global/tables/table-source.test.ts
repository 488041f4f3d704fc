import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAliases, splitAliasValue } from '../../../src/global/tables/alias-source.js';
import { parseTableSource } from '../../../src/global/tables/table-source.js';
import { captureMessages } from '../../../src/util/msg.js';

const SOURCE = `# comment
User@Example.COM   value one
  continued
   # indented comment
key2\tv2 with  inner  spaces   
novalue
key2 second
`;

test('source files: continuations, comments, folding, first duplicate kept', () => {
  const { result, messages } = captureMessages(() => parseTableSource(SOURCE, 'src'));
  assert.deepEqual(
    result.map((e) => [e.key, e.value, e.line]),
    [
      ['user@example.com', 'value one  continued', 2],
      ['key2', 'v2 with  inner  spaces', 5],
    ],
  );
  assert.deepEqual(messages, [
    'warning: src, line 6: expected format: key whitespace value',
    'warning: src, line 7: duplicate entry: "key2"',
  ]);
});

test('source options: no folding, replace duplicates, quiet, named duplicate warnings', () => {
  const text = 'A 1\nA 2\n';
  assert.deepEqual(parseTableSource(text, 's', { foldKeys: false, warnDuplicates: false }).map((e) => [e.key, e.value]), [['A', '1']]);
  const replaced = captureMessages(() => parseTableSource(text, 's', { replaceDuplicates: true, warnDuplicates: false }));
  assert.deepEqual(replaced.result.map((e) => [e.key, e.value]), [['a', '2']]);
  assert.deepEqual(replaced.messages, []);
  const named = captureMessages(() => parseTableSource(text, 's', { duplicateWhere: 's.db' }));
  assert.deepEqual(named.messages, ['warning: s.db: duplicate entry: "a"']);
});

test('aliases: quoted names, continuations, local names only, name:value required', () => {
  const text = [
    'Postmaster: root',
    '"weird name": root',
    '"a:b"@x: y',
    'list: "|/usr/bin/foo  -x a,b" , user1,',
    '   user2,:include:/etc/list.txt',
    'nocolon value',
    'empty:',
  ].join('\n');
  const { result, messages } = captureMessages(() => parseAliases(text, 'aliases'));
  assert.deepEqual(
    result.map((e) => [e.key, e.value]),
    [
      ['postmaster', 'root'],
      ['weird name', 'root'],
      ['list', '"|/usr/bin/foo  -x a,b", user1, user2, :include:/etc/list.txt'],
    ],
  );
  assert.deepEqual(messages, [
    'warning: aliases, line 3: name must be local',
    'warning: aliases, line 6: need name:value pair',
    'warning: aliases, line 7: need name:value pair',
  ]);
});

test('alias values split on commas outside quotes', () => {
  assert.deepEqual(splitAliasValue('"|/usr/bin/foo -x a,b", user1,user2 , :include:/etc/list.txt, /var/log/x'), [
    '|/usr/bin/foo -x a,b',
    'user1',
    'user2',
    ':include:/etc/list.txt',
    '/var/log/x',
  ]);
  assert.deepEqual(splitAliasValue('"John, Doe" <j@x>'), ['"John, Doe" <j@x>']);
});
