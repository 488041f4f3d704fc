/*
 * pickup-on-demand - pickup is not resident: the master starts it when
 * sendmail triggers it or when its wakeup finds a file in maildrop/ (left
 * from before the start, or written without a trigger), and it exits after
 * max_idle idle seconds. Nothing in maildrop/ is left behind.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TestInstance } from '../support/instance.js';
import { absenceWindow, waitFor } from '../support/wait.js';

const instances: TestInstance[] = [];
after(() => {
  for (const instance of instances) instance.remove();
});

/** An instance whose pickup wakes every second and whose daemons idle out after two. */
async function quickPickup(): Promise<TestInstance> {
  const mx = await TestInstance.create('', 'postmaster: root\n', { max_idle: '2s' });
  instances.push(mx);
  const masterCf = join(mx.etc, 'master.cf');
  writeFileSync(masterCf, readFileSync(masterCf, 'utf8').replace('pickup unix n - n 60 1 pickup', 'pickup unix n - n 1 1 pickup'));
  return mx;
}

test('pickup runs only while there is local submission to take', async () => {
  const mx = await quickPickup();
  mx.start();
  await waitFor(() => mx.daemonPids('qmgr').length > 0, 'qmgr to start');
  // Long enough for the master's first wakeup check and one more.
  await absenceWindow(1500);
  assert.deepEqual(mx.daemonPids('pickup'), [], 'pickup started with nothing to do');

  const sent = mx.run('sendmail', ['-f', 'me@mx.test.example', 'first@localhost'], 'Subject: one\n\nfirst\n');
  assert.equal(sent.status, 0, sent.stderr);
  const log = await mx.waitForLog(/to=<first@localhost>, relay=local, .*status=sent/);
  const pid = Number(/postfix\/pickup\[(\d+)\]: [0-9A-Z]+: uid=\d+ from=<me@mx\.test\.example>/.exec(log)?.[1]);
  assert.ok(pid > 0, 'pickup logged the submission');
  await waitFor(() => mx.daemonPids('pickup').length === 0, 'pickup to exit once idle');
  assert.deepEqual(readdirSync(join(mx.queue, 'maildrop')), []);
});

test('a file left in maildrop/ before the start, and one put there without a trigger, are picked up', async () => {
  const mx = await quickPickup();
  // A first start makes the queue; submitted while the instance is down, a file waits in maildrop/ with nobody to trigger.
  mx.start();
  mx.stop();
  const early = mx.run('sendmail', ['-f', 'me@mx.test.example', 'early@localhost'], 'Subject: early\n\nbefore start\n');
  assert.equal(early.status, 0, early.stderr);
  const late = mx.run('sendmail', ['-f', 'me@mx.test.example', 'late@localhost'], 'Subject: late\n\nno trigger\n');
  assert.equal(late.status, 0, late.stderr);
  const maildrop = join(mx.queue, 'maildrop');
  const lateFile = readdirSync(maildrop).find((name) => readFileSync(join(maildrop, name), 'latin1').includes('late@localhost'));
  assert.ok(lateFile !== undefined);
  renameSync(join(maildrop, lateFile), join(mx.root, lateFile));

  mx.start();
  await mx.waitForLog(/to=<early@localhost>, relay=local, .*status=sent/);
  await waitFor(() => mx.daemonPids('pickup').length === 0, 'pickup to exit once idle');
  renameSync(join(mx.root, lateFile), join(maildrop, lateFile));
  await mx.waitForLog(/to=<late@localhost>, relay=local, .*status=sent/);
  assert.match(mx.maildir('late')[0] ?? '', /no trigger/);
  await waitFor(() => readdirSync(maildrop).length === 0, 'maildrop/ to be empty');
});
