import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestInstance } from '../support/instance.js';

let mx: TestInstance;

// master.cf services that run Postfix's error and discard commands under names of their own.
before(async () => {
  mx = await TestInstance.create('', 'postmaster: root\n', {
    transport_maps:
      'inline:{ { gone.test = myerror:5.1.2 custom text for gone.test }, { later.test = myerror:4.7.0 come back later }, drop.test=mydiscard:, { quiet.test = mydiscard:not wanted }, { again.test = retry:5.2.2 try again } }',
  });
  appendFileSync(
    join(mx.etc, 'master.cf'),
    ['myerror unix - - n - - error', 'mydiscard unix - - n - - discard', 'retry unix - - n - - error', ''].join('\n'),
  );
  mx.start();
});

after(() => mx.remove());

test('a service running the error command under another name bounces with the next-hop text, or defers for a 4.x.x code', async () => {
  const gone = await mx.submit('sender@localhost', ['user@gone.test'], 'Subject: gone\n\nbody\n');
  const later = await mx.submit('sender@localhost', ['user@later.test'], 'Subject: later\n\nbody\n');
  await mx.waitForLog(new RegExp(`${gone}: to=<user@gone\\.test>, relay=none, .*dsn=5\\.1\\.2, status=bounced \\(custom text for gone\\.test\\)`));
  await mx.waitForLog(new RegExp(`${later}: to=<user@later\\.test>, relay=none, .*dsn=4\\.7\\.0, status=deferred \\(come back later\\)`));
  assert.doesNotMatch(mx.logText(), /mail transport unavailable/);
});

test('a service running the discard command under another name discards, with the next hop (the domain when empty) as the reason', async () => {
  const drop = await mx.submit('sender@localhost', ['user@drop.test'], 'Subject: drop\n\nbody\n');
  const quiet = await mx.submit('sender@localhost', ['user@quiet.test'], 'Subject: quiet\n\nbody\n');
  await mx.waitForLog(new RegExp(`${drop}: to=<user@drop\\.test>, relay=none, .*dsn=2\\.0\\.0, status=sent \\(discarded: drop\\.test\\)`));
  await mx.waitForLog(new RegExp(`${quiet}: to=<user@quiet\\.test>, relay=none, .*dsn=2\\.0\\.0, status=sent \\(discarded: not wanted\\)`));
  await mx.waitForLog(new RegExp(`${quiet}: removed`));
  assert.equal(existsSync(join(mx.queue, 'deferred')) ? readdirSync(join(mx.queue, 'deferred')).filter((f) => f === drop || f === quiet).length : 0, 0);
});

test('the error command under the service name retry defers whatever class the text names', async () => {
  const again = await mx.submit('sender@localhost', ['user@again.test'], 'Subject: again\n\nbody\n');
  await mx.waitForLog(new RegExp(`${again}: to=<user@again\\.test>, relay=none, .*dsn=4\\.2\\.2, status=deferred \\(try again\\)`));
});
