import assert from 'node:assert/strict';
import { test } from 'node:test';
import { softBounce, softBounceReply } from '../../src/global/soft-bounce.js';

test('softBounce: a bounce becomes a deferral with a 4.X.Y code; other outcomes, and everything when off, pass as they are', () => {
  const bounce = { status: 'bounced', dsn: '5.1.1', reason: 'User unknown' } as const;
  assert.deepEqual(softBounce(bounce, true), { status: 'deferred', dsn: '4.1.1', reason: 'User unknown', softBounced: true });
  assert.equal(softBounce(bounce, false), bounce);
  const deferral = { status: 'deferred', dsn: '4.4.1', reason: 'no route' } as const;
  assert.equal(softBounce(deferral, true), deferral);
});

test('softBounceReply: 5xx goes out as 4xx with the leading enhanced code made 4.Y.Z; 2xx-4xx and a 5.x.y later in the text are left', () => {
  assert.deepEqual(softBounceReply(550, ['5.1.1 <a@b>: Recipient address rejected: see 5.7.1 docs'], true), { code: 450, lines: ['4.1.1 <a@b>: Recipient address rejected: see 5.7.1 docs'] });
  assert.deepEqual(softBounceReply(554, ['5.7.1 first', '5.7.1 second'], true), { code: 454, lines: ['4.7.1 first', '4.7.1 second'] });
  assert.deepEqual(softBounceReply(502, ['Error: command not recognized'], true), { code: 402, lines: ['Error: command not recognized'] });
  assert.deepEqual(softBounceReply(451, ['4.3.0 Error'], true), { code: 451, lines: ['4.3.0 Error'] });
  assert.deepEqual(softBounceReply(550, ['5.1.1 x'], false), { code: 550, lines: ['5.1.1 x'] });
});
