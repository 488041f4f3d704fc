import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchPatternRules, parsePatternRules } from '../../../src/global/tables/table-pattern.js';
import { PCRE_DIALECT } from '../../../src/global/tables/table-pcre.js';
import { REGEXP_DIALECT } from '../../../src/global/tables/table-regexp.js';
import { captureMessages } from '../../../src/util/msg.js';

const REGEXP = String.raw`# access map
/^(.*)@example\.com$/   user=$1 domain=$` + String.raw`{1}x $$ $(1)
/^postmaster@/          OK
if !/^owner-/
/^(.*)-outgoing@(.*)$/  550 Use $` + String.raw`{1}@$` + String.raw`{2} instead
endif
if /\.test$/
if /^a/
/b/                     nested-a-b
endif
/./                     test-domain
endif
/UPPER/i                case-sensitive
/multi
  line/                 continued
~[[:digit:]]{3}~        three-digits
/a\/b/                  slash
/^x\(y\)$/x             basic-syntax $1
!/@/                    no-at
`;

test('regexp: substitution, negation, nested if/endif, flags, delimiters, continuations', () => {
  const rules = parsePatternRules(REGEXP, 'r', REGEXP_DIALECT);
  const cases: [string, string | undefined][] = [
    ['joe@example.com', 'user=joe domain=joex $ joe'],
    ['JOE@EXAMPLE.COM', 'user=JOE domain=JOEx $ JOE'],
    ['postmaster@x.org', 'OK'],
    ['list-outgoing@x.org', '550 Use list@x.org instead'],
    ['owner-list-outgoing@x.org', undefined],
    ['abc@x.test', 'nested-a-b'],
    ['zzz@x.test', 'test-domain'],
    ['UPPER@x', 'case-sensitive'],
    ['upper@x', undefined],
    ['multi  line@x', 'continued'],
    ['multi line@x', undefined],
    ['x123@y', 'three-digits'],
    ['a/b@y', 'slash'],
    ['xy', 'basic-syntax y'],
    ['plain', 'no-at'],
  ];
  for (const [key, want] of cases) assert.equal(matchPatternRules(rules, key), want, key);
});

test('regexp and pcre: bad rules are skipped with Postfix\'s warnings', () => {
  const text = '/noresult/\n/bad[/ x\n/abc/q bad\nendif\n/(a)/ $2\nif /x/\n';
  const { messages } = captureMessages(() => parsePatternRules(text, 'r', REGEXP_DIALECT));
  assert.deepEqual(messages, [
    'warning: regexp map r, line 1: no replacement text: using empty string',
    messages[1],
    'warning: regexp map r, line 3: unknown regexp option "q": skipping this rule',
    'warning: regexp map r, line 4: ignoring ENDIF without matching IF',
    'warning: regexp map r, line 5: out of range replacement index "2": skipping this rule',
    'warning: regexp map r: IF has no matching ENDIF',
  ]);
  assert.match(messages[1] as string, /^warning: regexp map r, line 2: .*skipping this rule$/);
});

test('pcre: the i toggle, s, m, x, A, E, U, X and PCRE syntax', () => {
  const text = [
    '/^abc$/ default-insensitive',
    '/^Case$/i sensitive',
    '/^a.b$/ dotall',
    '/^x.y$/s no-dotall',
    '/^m1$/m multiline',
    '/s p a c e/x extended',
    '/^anch/A anchored',
    '/end$/ dollar-before-newline',
    '/^(a+)(a*)z$/U ungreedy $1|$2',
    '/^(?P<word>q+)w$/ named $1',
    '/\\Qa.b\\E!/ quoted',
    '/obsolete/X x-ignored',
  ].join('\n');
  const { result: rules, messages } = captureMessages(() => parsePatternRules(text, 'p', PCRE_DIALECT));
  assert.deepEqual(messages, ['warning: pcre map p, line 12: ignoring obsolete regexp option "X"']);
  const cases: [string, string | undefined][] = [
    ['ABC', 'default-insensitive'],
    ['Case', 'sensitive'],
    ['case', undefined],
    ['a\nb', 'dotall'],
    ['x\ny', undefined],
    ['first\nm1\nlast', 'multiline'],
    ['space', 'extended'],
    ['anchor', 'anchored'],
    ['the end\n', 'dollar-before-newline'],
    ['aaaz', 'ungreedy a|aa'],
    ['qqw', 'named qq'],
    ['a.b!', 'quoted'],
    ['axb!', undefined],
    ['obsolete', 'x-ignored'],
  ];
  for (const [key, want] of cases) assert.equal(matchPatternRules(rules, key), want, JSON.stringify(key));
});
