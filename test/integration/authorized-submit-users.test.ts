/*
 * authorized_submit_users: sendmail refuses a user the list does not
 * allow (Postfix's message and exit status 77), and pickup removes what
 * such a user left in maildrop/ (writable by all) rather than send it;
 * files of root and mail_owner (postsuper -r requeues there) always pass.
 * authorized_flush_users and authorized_mailq_users: postqueue and
 * sendmail -q refuse an ordinary user (nobody) the lists leave out.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestInstance } from '../support/instance.js';
import { REPO_ROOT } from '../support/run-command.js';
import { needRoot } from '../support/need.js';
import { waitFor } from '../support/wait.js';

const skip = needRoot('a maildrop file owned by another user');
let mx: TestInstance;
/** The maildrop files left before the instance starts: one of root's, one given to nobody. */
let dropped: { root: string; nobody: string };

before(async () => {
  if (skip !== false) return;
  mx = await TestInstance.create('', 'postmaster: root\n', { authorized_submit_users: '!daemon, root' });
  // Started once to make the queue, then queued while it is down: the files wait in maildrop/ for pickup.
  mx.start();
  mx.stop();
  for (const to of ['rita@localhost', 'ned@localhost']) assert.equal(mx.run('sendmail', ['-f', 'root@localhost', to], `Subject: to ${to}\n\nbody\n`).status, 0);
  const [first, second] = readdirSync(join(mx.queue, 'maildrop')).sort();
  dropped = { root: first as string, nobody: second as string };
  chownSync(join(mx.queue, 'maildrop', dropped.nobody), 65534, 65534);
  mx.start();
});

after(() => {
  if (skip !== false) return;
  mx.remove();
});

test('pickup removes a maildrop file whose owner the list does not allow, and takes root\'s', { skip }, async () => {
  await mx.waitForLog(new RegExp(`maildrop/${dropped.nobody}: uid=65534 \\(\\w+\\) is not allowed to submit mail \\(authorized_submit_users\\); removed`));
  await mx.waitForLog(/to=<rita@localhost>, relay=local, .*status=sent/);
  await waitFor(() => readdirSync(join(mx.queue, 'maildrop')).length === 0, 'maildrop/ empty');
  assert.doesNotMatch(mx.logText(), /to=<ned@localhost>/);
});

test('sendmail refuses a user the list does not allow, with exit status 77, and queues nothing', { skip }, () => {
  const denied = mx.run('postconf', ['-e', 'authorized_submit_users = !root, static:anyone']);
  assert.equal(denied.status, 0);
  const refused = mx.run('sendmail', ['-f', 'root@localhost', 'rita@localhost'], 'Subject: refused\n\nbody\n');
  assert.equal(refused.status, 77);
  assert.match(refused.stderr, /sendmail: fatal: User root\(0\) is not allowed to submit mail/);
  assert.deepEqual(readdirSync(join(mx.queue, 'maildrop')), []);
});

/** Runs a Petrel command as nobody (uid 65534). */
function asNobody(name: string, args: readonly string[]): { status: number | null; stderr: string } {
  const result = spawnSync(join(REPO_ROOT, 'bin', name), ['-c', mx.etc, ...args], { uid: 65534, gid: 65534, encoding: 'utf8', input: '' });
  return { status: result.status, stderr: result.stderr };
}

test('authorized_flush_users and authorized_mailq_users refuse nobody, with exit status 77; root always passes', { skip }, () => {
  // nobody must reach main.cf to be refused by it.
  chmodSync(mx.root, 0o755);
  chmodSync(mx.etc, 0o755);
  assert.equal(mx.run('postconf', ['-e', 'authorized_flush_users = !nobody, static:anyone', 'authorized_mailq_users = root']).status, 0);
  const flush = asNobody('postqueue', ['-f']);
  assert.equal(flush.status, 77, flush.stderr);
  assert.match(flush.stderr, /postqueue: fatal: User nobody\(65534\) is not allowed to flush the mail queue/);
  const q = asNobody('sendmail', ['-q']);
  assert.equal(q.status, 77, q.stderr);
  assert.match(q.stderr, /sendmail: fatal: User nobody\(65534\) is not allowed to flush the mail queue/);
  const list = asNobody('postqueue', ['-p']);
  assert.equal(list.status, 77, list.stderr);
  assert.match(list.stderr, /postqueue: fatal: User nobody\(65534\) is not allowed to view the mail queue/);
  assert.equal(mx.run('postqueue', ['-f']).status, 0);
});
