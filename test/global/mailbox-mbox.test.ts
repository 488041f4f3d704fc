import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliverToMbox, MailboxLockError, mboxFromLine } from '../../src/global/mailbox-mbox.js';
import { MailboxLimitError } from '../../src/global/mailbox-write.js';

const lines = (...text: string[]): Buffer[] => text.map((t) => Buffer.from(t));
const lock = { attempts: 3, delay: 0.05, staleAfter: 500 };

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-mbox-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the From_ line has the asctime shape and MAILER-DAEMON for the null sender', () => {
  const when = new Date(2026, 10, 2, 9, 5, 7);
  assert.equal(mboxFromLine('a@example.com', when).toString(), 'From a@example.com  Mon Nov  2 09:05:07 2026');
  assert.equal(mboxFromLine('', when).toString(), 'From MAILER-DAEMON  Mon Nov  2 09:05:07 2026');
});

test('mbox delivery quotes From lines, appends an empty line, and keeps earlier mail', async (t) => {
  const box = join(tempDir(t), 'user');
  const envelope = Buffer.from('From a@example.com  Mon Nov  2 09:05:07 2026');
  await deliverToMbox(box, envelope, lines('Subject: one', '', 'From here', '>From there', 'end'), { sizeLimit: 0, lock });
  await deliverToMbox(box, envelope, lines('Subject: two', '', 'body'), { sizeLimit: 0, lock });
  assert.equal(
    readFileSync(box, 'utf8'),
    [
      'From a@example.com  Mon Nov  2 09:05:07 2026',
      'Subject: one',
      '',
      '>From here',
      '>From there',
      'end',
      '',
      'From a@example.com  Mon Nov  2 09:05:07 2026',
      'Subject: two',
      '',
      'body',
      '',
      '',
    ].join('\n'),
  );
  assert.equal(statSync(box).mode & 0o777, 0o600);
  assert.equal(existsSync(`${box}.lock`), false);
});

test('an mbox delivery over the size limit is truncated away, leaving earlier mail intact', async (t) => {
  const box = join(tempDir(t), 'user');
  const envelope = Buffer.from('From a@example.com  Mon Nov  2 09:05:07 2026');
  await deliverToMbox(box, envelope, lines('Subject: small', '', 'ok'), { sizeLimit: 1000, lock });
  const before = readFileSync(box);
  await assert.rejects(
    deliverToMbox(box, envelope, lines('Subject: big', '', 'x'.repeat(2000)), { sizeLimit: 1000, lock }),
    MailboxLimitError,
  );
  assert.deepEqual(readFileSync(box), before);
  assert.equal(existsSync(`${box}.lock`), false);
});

test('a held lock makes delivery fail after the attempts; a stale one is removed', async (t) => {
  const box = join(tempDir(t), 'user');
  const envelope = Buffer.from('From a@example.com  Mon Nov  2 09:05:07 2026');
  writeFileSync(`${box}.lock`, '1\n');
  await assert.rejects(deliverToMbox(box, envelope, lines('x'), { sizeLimit: 0, lock }), MailboxLockError);
  const old = new Date(Date.now() - 600_000);
  utimesSync(`${box}.lock`, old, old);
  await deliverToMbox(box, envelope, lines('x'), { sizeLimit: 0, lock });
  assert.match(readFileSync(box, 'utf8'), /^From a@example.com {2}.*\nx\n\n$/);
});

test('concurrent deliveries to one mbox never interleave', async (t) => {
  const box = join(tempDir(t), 'user');
  const envelope = Buffer.from('From a@example.com  Mon Nov  2 09:05:07 2026');
  const body = (i: number): Buffer[] => lines(`Subject: ${i}`, '', ...Array.from({ length: 200 }, () => `line of ${i}`));
  await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      deliverToMbox(box, envelope, body(i), { sizeLimit: 0, lock: { attempts: 200, delay: 0.01, staleAfter: 500 } }),
    ),
  );
  const messages = readFileSync(box, 'utf8').split(/^From a@example.com {2}.*\n/m).slice(1);
  assert.equal(messages.length, 10);
  for (const message of messages) {
    const i = /^Subject: (\d+)/.exec(message)?.[1];
    assert.ok(i !== undefined);
    assert.equal(message.split('\n').filter((l) => l === `line of ${i}`).length, 200);
  }
});
