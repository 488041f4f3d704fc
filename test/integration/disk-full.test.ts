import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestInstance } from '../support/instance.js';
import { needRoot } from '../support/need.js';
import { SmtpClient } from '../support/smtp-client.js';

const skip = needRoot('the queue is put on a small tmpfs, which only root can mount');
let mx: TestInstance;
let disk: string;

before(async () => {
  if (skip !== false) return;
  mx = await TestInstance.create('', 'postmaster: root\n', { message_size_limit: '200000' });
  disk = join(mx.root, 'small-disk');
  mkdirSync(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk]);
  assert.equal(mx.run('postconf', ['-e', `queue_directory=${join(disk, 'queue')}`]).status, 0);
  mx.start();
});

after(() => {
  if (skip !== false) return;
  mx.stop();
  spawnSync('umount', [disk]);
  mx.remove();
});

/** Leaves about keep bytes free on the small disk. */
function fillTo(keep: number): void {
  rmSync(join(disk, 'filler'), { force: true });
  const free = Number(execFileSync('df', ['-B1', '--output=avail', disk], { encoding: 'utf8' }).trim().split('\n')[1]);
  writeFileSync(join(disk, 'filler'), Buffer.alloc(Math.max(0, free - keep)));
}

test('a full queue disk: MAIL FROM is refused with 452 4.3.1 below 1.5 × message_size_limit, a write that fails mid-message gets 451 4.3.0, and mail flows again once there is room', { skip }, async () => {
  fillTo(100_000);
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  assert.equal(await client.command('MAIL FROM:<a@example.org>'), '452 4.3.1 Insufficient system storage');
  await mx.waitForLog(/warning: not enough free space in mail queue: \d+ bytes < 1\.5\*message_size_limit/);
  await mx.waitForLog(/NOQUEUE: reject: MAIL from localhost\[127\.0\.0\.1\]: 452 4\.3\.1 Insufficient system storage; from=<a@example\.org> proto=ESMTP helo=<client\.example>/);
  // Room for two MAIL FROMs (over 300 KB free), not for two 190 KB messages written at once.
  fillTo(320_000);
  const sessions = await Promise.all([SmtpClient.open(mx.port), SmtpClient.open(mx.port)]);
  for (const { client: c } of sessions) {
    await c.command('EHLO client.example');
    assert.match(await c.command('MAIL FROM:<a@example.org>'), /^250/);
    assert.match(await c.command('RCPT TO:<root@localhost>'), /^250/);
    assert.match(await c.command('DATA'), /^354/);
  }
  const body = `Subject: big\r\n\r\n${'x'.repeat(190_000)}\r\n.`;
  const replies = await Promise.all(sessions.map(({ client: c }) => c.command(body)));
  for (const { client: c } of sessions) await c.quit();
  assert.ok(replies.some((r) => r === '451 4.3.0 Error: queue file write error'), replies.join(' | '));
  await mx.waitForLog(/No space left on device|ENOSPC/);
  rmSync(join(disk, 'filler'), { force: true });
  const after = await client.send('a@example.org', ['root@localhost'], 'Subject: room again\n\nok\n');
  assert.match(after, /^250 2\.0\.0 Ok: queued as /);
  await client.quit();
  await mx.waitForLog(/status=sent \(delivered to maildir\)/);
});
