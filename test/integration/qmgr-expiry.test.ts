/*
 * maximal_queue_lifetime in qmgr: a message past its lifetime bounces the
 * recipients still deferred, and only those. With a lifetime of 0 (one
 * attempt), a message with one recipient delivered and one deferred in the
 * same attempt bounces the deferred one; the delivered one is neither
 * logged as bounced nor listed in the notice.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TestInstance } from '../support/instance.js';
import { waitFor } from '../support/wait.js';

let mx: TestInstance;

before(async () => {
  mx = await TestInstance.create('', 'postmaster: root\n', {
    maximal_queue_lifetime: '0',
    transport_maps: 'inline:{ {slow.test=retry:4.4.1 try again later} }',
  });
  mx.start();
});

after(() => mx.remove());

test('an expired message bounces only the recipients still deferred, not one delivered in the same attempt', async () => {
  const id = await mx.submit('alice@localhost', ['bob@localhost', 'rosa@slow.test'], 'Subject: half way\n\nbody\n');
  await mx.waitForLog(new RegExp(`${id}: to=<rosa@slow\\.test>, relay=none, .*dsn=5\\.4\\.1, status=bounced \\(message delivery time exceeded: try again later\\)`));
  await mx.waitForLog(new RegExp(`${id}: removed`));
  assert.match(mx.logText(), new RegExp(`${id}: to=<bob@localhost>, relay=local, .*status=sent`));
  assert.doesNotMatch(mx.logText(), new RegExp(`${id}: to=<bob@localhost>, .*status=bounced`));
  await waitFor(() => mx.maildir('alice').length === 1, 'the non-delivery notice');
  const notice = mx.maildir('alice')[0] as string;
  assert.match(notice, /Final-Recipient: rfc822; ?rosa@slow\.test/);
  assert.doesNotMatch(notice, /bob@localhost/);
});
