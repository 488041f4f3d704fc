import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestInstance } from '../support/instance.js';
import { waitFor } from '../support/wait.js';

let mx: TestInstance;

before(async () => {
  mx = await TestInstance.create('transport_maps = inline:{ { nowhere.test = error:5.1.2 no such domain here }, { later.test = retry:5.4.1 try again later } }');
  // Started without its bounce service: notices cannot go out yet.
  const masterCf = join(mx.etc, 'master.cf');
  writeFileSync(masterCf, readFileSync(masterCf, 'utf8').replace(/^bounce .*\n/m, ''));
  mx.start();
});

after(() => mx.remove());

test('the bounce daemon sends the non-delivery notice; while it is missing the message waits in the queue, and nothing is lost', async () => {
  const id = await mx.submit('alice@localhost', ['bob@nowhere.test'], 'Subject: goes nowhere\n\nbody\n');
  await mx.waitForLog(new RegExp(`${id}: to=<bob@nowhere\\.test>, relay=none,.*dsn=5\\.1\\.2, status=bounced \\(no such domain here\\)`));
  await mx.waitForLog(new RegExp(`${id}: cannot send the non-delivery notice: bounce service unavailable: .*; keeping the message`));
  // qmgr logs that line, then moves the message to deferred/.
  await waitFor(() => mx.queued('deferred').includes(id), 'the message kept in deferred/');
  assert.deepEqual(mx.queued('deferred'), [id]);
  assert.deepEqual(mx.maildir('alice'), []);
  writeFileSync(join(mx.etc, 'master.cf'), `${readFileSync(join(mx.etc, 'master.cf'), 'utf8')}bounce unix - - n - 0 bounce\n`);
  assert.equal(mx.run('petrel', ['reload']).status, 0);
  await mx.waitForLog(/reload -- version/);
  assert.equal(mx.run('postqueue', ['-f']).status, 0);
  const log = await mx.waitForLog(new RegExp(`postfix/bounce\\[\\d+\\]: ${id}: sender non-delivery notification: [0-9A-Z]+`));
  await mx.waitForLog(new RegExp(`${id}: removed`));
  const notice = /sender non-delivery notification: ([0-9A-Z]+)/.exec(log)?.[1] as string;
  await mx.waitForLog(new RegExp(`${notice}: to=<alice@localhost>.*status=sent`));
  const [mail] = mx.maildir('alice');
  assert.match(mail ?? '', /Final-Recipient: rfc822; bob@nowhere\.test\nAction: failed\nStatus: 5\.1\.2\n/);
  assert.match(mail ?? '', /Subject: goes nowhere/);
  assert.deepEqual(mx.queued('deferred'), []);
});

test('the retry transport defers, always with a 4.x.x code, and sends no notice', async () => {
  const id = await mx.submit('alice@localhost', ['carol@later.test'], 'Subject: later\n\nbody\n');
  await mx.waitForLog(new RegExp(`${id}: to=<carol@later\\.test>, relay=none,.*dsn=4\\.4\\.1, status=deferred \\(try again later\\)`));
  await waitFor(() => mx.queued('deferred').includes(id), 'the message kept in deferred/');
  assert.doesNotMatch(mx.logText(), new RegExp(`${id}: sender (non-delivery|delay) notification`));
});
