import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMasterCf } from '../../src/global/config/master-cf-read.js';
import { pseudoAgents } from '../../src/global/pseudo-agents.js';

const MASTER_CF = [
  'smtp unix - - n - - smtp',
  'error unix - - n - - error',
  'retry unix - - n - - error',
  'myerror unix - - n - - error',
  'mydiscard unix - - n - - discard',
  'discard unix - - n - - pipe flags=R user=nobody argv=/bin/true',
  'other inet n - n - - error',
].join('\n');

test('qmgr answers for a transport by its master.cf command, not its name', () => {
  const agents = pseudoAgents(parseMasterCf(MASTER_CF, 'master.cf'));
  const cases: [string, string | undefined][] = [
    ['smtp', undefined],
    ['error', 'error'],
    ['retry', 'retry'],
    ['myerror', 'error'],
    ['mydiscard', 'discard'],
    ['discard', undefined],
    ['other', undefined],
    ['local', undefined],
  ];
  for (const [transport, expected] of cases) assert.equal(agents(transport)?.kind, expected, transport);
});

test('without master.cf entries the names error, retry and discard keep their built-in meaning', () => {
  const agents = pseudoAgents([]);
  for (const name of ['error', 'retry', 'discard'] as const) assert.equal(agents(name)?.kind, name);
  assert.equal(agents('myerror'), undefined);
});

test("a pseudo-agent line's -o soft_bounce is its own setting", () => {
  const agents = pseudoAgents(parseMasterCf(['error unix - - n - - error -o soft_bounce=yes', 'retry unix - - n - - error -o soft_bounce=no', 'discard unix - - n - - discard'].join('\n'), 'master.cf'));
  assert.deepEqual(agents('error'), { kind: 'error', softBounce: true });
  assert.deepEqual(agents('retry'), { kind: 'retry', softBounce: false });
  assert.deepEqual(agents('discard'), { kind: 'discard' });
});
