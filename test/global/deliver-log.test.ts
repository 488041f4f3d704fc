import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDelay, logDelivery } from '../../src/global/deliver-log.js';
import { exitMeaning } from '../../src/global/sysexits.js';
import { captureMessages } from '../../src/util/msg.js';

test('delays print as Postfix prints them', () => {
  const cases: [number, string][] = [[0, '0'], [0.004, '0'], [0.01, '0.01'], [0.123, '0.12'], [0.5, '0.5'], [1.26, '1.3'], [9.94, '9.9'], [12.6, '13'], [331.2, '331']];
  for (const [seconds, want] of cases) assert.equal(formatDelay(seconds), want, String(seconds));
});

test('the delivery line has pflogsumm\'s shape', () => {
  const { messages } = captureMessages(() =>
    logDelivery({ queueId: 'ID', recipient: 'a@x', original: 'A@x', relay: 'local', arrival: 0, activeSince: 90, requested: 100, connected: 100, dsn: '2.0.0', status: 'sent', reason: 'delivered to maildir' }, 270),
  );
  assert.deepEqual(messages, ['info: ID: to=<a@x>, orig_to=<A@x>, relay=local, delay=0.27, delays=0.09/0.01/0/0.17, dsn=2.0.0, status=sent (delivered to maildir)']);
});

test('sysexits: EX_TEMPFAIL defers, EX_NOUSER bounces, signals defer, other codes bounce', () => {
  assert.deepEqual(exitMeaning(75, null), { dsn: '4.3.0', text: 'temporary failure' });
  assert.deepEqual(exitMeaning(67, null), { dsn: '5.1.1', text: 'user unknown' });
  assert.equal(exitMeaning(null, 'SIGKILL').dsn, '4.3.0');
  assert.deepEqual(exitMeaning(3, null), { dsn: '5.3.0', text: 'Command died with status 3' });
});
