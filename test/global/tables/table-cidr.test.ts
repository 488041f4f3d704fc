import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchCidrRules, parseCidrRules } from '../../../src/global/tables/table-cidr.js';
import { captureMessages } from '../../../src/util/msg.js';

const TEXT = `192.168.1.1        one
192.168.1.0/24     net
10.1.2.3/8         bad-host-bits
[2001:db8::]/32    v6net
if 172.16.0.0/12
172.16.5.0/24      inner
endif
!10.0.0.0/8        not-ten
foo                bar
`;

test('IPv4 and IPv6 networks, first match, if/endif, negation within one family', () => {
  const { result: rules, messages } = captureMessages(() => parseCidrRules(TEXT, 'c'));
  assert.deepEqual(messages, [
    'warning: cidr map c, line 3: non-null host address bits in "10.1.2.3/8", perhaps you should use "10.0.0.0/8" instead: skipping this rule',
    'warning: cidr map c, line 9: bad address pattern: "foo": skipping this rule',
  ]);
  const cases: [string, string | undefined][] = [
    ['192.168.1.1', 'one'],
    ['192.168.1.9', 'net'],
    ['10.0.0.1', undefined],
    ['11.1.1.1', 'not-ten'],
    ['172.16.5.77', 'inner'],
    ['172.16.6.1', 'not-ten'],
    ['2001:db8:0:0::5', 'v6net'],
    ['2001:0db8::1', 'v6net'],
    ['[2001:db8::1]', undefined],
    ['2001:db9::1', undefined],
    ['::ffff:192.168.1.1', undefined],
    ['not-an-address', undefined],
    ['1.2.3', undefined],
  ];
  for (const [key, want] of cases) assert.equal(matchCidrRules(rules, key), want, key);
});
