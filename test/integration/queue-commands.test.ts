import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestInstance } from '../support/instance.js';
import { REPO_ROOT } from '../support/run-command.js';
import { SmtpClient } from '../support/smtp-client.js';
import { waitFor } from '../support/wait.js';

let mx: TestInstance;
let id = '';

before(async () => {
  mx = await TestInstance.create('', 'postmaster: root\n', { minimal_backoff_time: '300s', maximal_backoff_time: '600s', queue_run_delay: '300s' });
  mx.start();
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  const reply = await client.send('sender@example.org', ['far@remote.example'], 'Subject: far away\n\nno smtp transport yet\n');
  id = /queued as ([0-9A-Z]+)/.exec(reply)?.[1] ?? '';
  await client.quit();
  await mx.waitForLog(new RegExp(`${id}: to=<far@remote\\.example>, relay=none, .*status=deferred \\(mail transport unavailable\\)`));
  await waitFor(() => mx.queued('deferred').includes(id), 'the message in deferred/');
});

after(() => mx.remove());

test('postqueue -p and mailq show the deferred message with its reason; -j as JSON', () => {
  const listing = mx.run('postqueue', ['-p']);
  assert.equal(listing.status, 0, listing.stderr);
  const lines = listing.stdout.split('\n');
  assert.equal(lines[0], '-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------');
  assert.match(lines[1] as string, new RegExp(`^${id}  +\\d+ \\w{3} \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d  sender@example\\.org$`));
  assert.equal(lines[2], `${' '.repeat(41)}(mail transport unavailable)`);
  assert.equal(lines[3], `${' '.repeat(41)}far@remote.example`);
  assert.match(listing.stdout, /-- 1 Kbytes in 1 Request\.\n$/);
  assert.equal(mx.run('mailq', []).stdout, listing.stdout);
  const json = JSON.parse(mx.run('postqueue', ['-j']).stdout) as Record<string, unknown>;
  assert.deepEqual({ ...json, arrival_time: 0, message_size: 0 }, {
    queue_name: 'deferred',
    queue_id: id,
    arrival_time: 0,
    message_size: 0,
    forced_expire: false,
    sender: 'sender@example.org',
    recipients: [{ address: 'far@remote.example', delay_reason: 'mail transport unavailable' }],
  });
});

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

test('postqueue -p run by a user who cannot read the queue fails, never answers "Mail queue is empty"', { skip: asRoot ? false : 'needs root to run postqueue as another user' }, () => {
  // the user reaches main.cf, not the queue directories (mode 0700, mail_owner's)
  chmodSync(mx.root, 0o755);
  chmodSync(mx.etc, 0o755);
  const asNobody = (): void => {
    const run = spawnSync(join(REPO_ROOT, 'bin', 'postqueue'), ['-c', mx.etc, '-p'], { uid: NOBODY, gid: NOBODY, encoding: 'utf8', env: { ...process.env, MAIL_CONFIG: '' } });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.doesNotMatch(run.stdout, /Mail queue is empty/);
    assert.match(run.stderr, /^postqueue: fatal: Queue report unavailable - cannot read the mail queue: permission denied \(run it as root or \w+\)$/m);
  };
  asNobody();
  // directories the user may list, holding files (mode 0600) it may not read
  const dirs = [mx.queue, ...['active', 'incoming', 'deferred', 'hold'].map((queue) => join(mx.queue, queue))];
  const modes = dirs.map((dir) => statSync(dir).mode & 0o7777);
  for (const dir of dirs) chmodSync(dir, 0o755);
  try {
    asNobody();
  } finally {
    dirs.forEach((dir, i) => chmodSync(dir, modes[i] as number));
  }
  // the owner of the queue still sees the message
  assert.match(mx.run('postqueue', ['-p']).stdout, new RegExp(`^${id} `, 'm'));
});

test('postsuper -h holds, -H releases, postqueue -f retries now, postcat -q shows it, -r requeues, -d deletes', async () => {
  const held = mx.run('postsuper', ['-h', id]);
  assert.equal(held.stderr, 'postsuper: Placed on hold: 1 message\n');
  assert.deepEqual(mx.queued('hold'), [id]);
  assert.match(mx.run('postqueue', ['-p']).stdout, new RegExp(`^${id}!`, 'm'));
  assert.equal(mx.run('postsuper', ['-H', id]).stderr, 'postsuper: Released from hold: 1 message\n');
  assert.deepEqual(mx.queued('deferred'), [id]);
  const before = (mx.logText().match(new RegExp(`${id}: to=<far@remote`, 'g')) ?? []).length;
  assert.equal(mx.run('postqueue', ['-f']).status, 0);
  await mx.waitForLog(new RegExp(`(${id}: to=<far@remote[^\\n]*\\n[\\s\\S]*){${before + 1}}`));
  const cat = mx.run('postcat', ['-q', id]);
  assert.equal(cat.status, 0, cat.stderr);
  assert.match(cat.stdout, /\nrecipient: far@remote\.example\n/);
  assert.match(cat.stdout, /no smtp transport yet/);
  await waitFor(() => mx.queued('deferred').includes(id), 'the message back in deferred/');
  assert.equal(mx.run('postsuper', ['-r', id]).stderr, 'postsuper: Requeued: 1 message\n');
  const pickedUp = await mx.waitForLog(/postfix\/pickup\[\d+\]: ([0-9A-Z]+): uid=\d+ from=<sender@example\.org>/);
  const newId = (/postfix\/pickup\[\d+\]: ([0-9A-Z]+): uid=\d+ from=<sender@example\.org>/.exec(pickedUp) as RegExpExecArray)[1] as string;
  assert.notEqual(newId, id);
  await mx.waitForLog(new RegExp(`${newId}: to=<far@remote\\.example>, relay=none, .*status=deferred`));
  await waitFor(() => mx.queued('deferred').includes(newId), 'the requeued message in deferred/');
  assert.equal(mx.run('postsuper', ['-d', 'ALL']).stderr, 'postsuper: Deleted: 1 message\n');
  assert.equal(mx.run('postqueue', ['-p']).stdout, 'Mail queue is empty\n');
  assert.match(mx.run('postsuper', ['-d', '../etc/passwd']).stderr, /invalid mail queue id: \.\.\/etc\/passwd/);
  assert.match(mx.logText(), new RegExp(`postfix/postsuper\\[\\d+\\]: ${newId}: removed`));
});
