import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { deliverToMaildir } from '../../src/global/mailbox-maildir.js';
import { MailboxLimitError } from '../../src/global/mailbox-write.js';

const lines = (...text: string[]): Buffer[] => text.map((t) => Buffer.from(t));

test('a Maildir delivery lands in new/ with a unique name carrying its size, nothing left in tmp/', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-maildir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const box = join(dir, 'Maildir');
  const paths = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      deliverToMaildir(box, lines('Return-Path: <a@example.com>', 'Subject: n' + i, '', 'From me', 'body'), {
        sizeLimit: 0,
      }),
    ),
  );
  assert.equal(new Set(paths).size, 20);
  assert.deepEqual(readdirSync(join(box, 'tmp')), []);
  assert.equal(readdirSync(join(box, 'new')).length, 20);
  for (const path of paths) {
    const content = readFileSync(path, 'utf8');
    assert.match(content, /^Return-Path: <a@example.com>\nSubject: n\d+\n\nFrom me\nbody\n$/);
    const size = Number(/,S=(\d+)$/.exec(basename(path))?.[1]);
    assert.equal(size, statSync(path).size);
  }
  assert.equal(statSync(paths[0] as string).mode & 0o777, 0o600);
  assert.equal(statSync(join(box, 'new')).mode & 0o777, 0o700);
});

test('a Maildir delivery over the size limit leaves no file behind', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-maildir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(
    deliverToMaildir(dir, lines('Subject: big', '', 'x'.repeat(1000)), { sizeLimit: 500 }),
    MailboxLimitError,
  );
  assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
  assert.deepEqual(readdirSync(join(dir, 'new')), []);
});

test('a Maildir removed after a delivery is made again and the next delivery succeeds at once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-maildir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const box = join(dir, 'Maildir');
  await deliverToMaildir(box, lines('Subject: one', '', 'first'), { sizeLimit: 0 });
  rmSync(box, { recursive: true });
  const path = await deliverToMaildir(box, lines('Subject: two', '', 'second'), { sizeLimit: 0 });
  assert.equal(readFileSync(path, 'utf8'), 'Subject: two\n\nsecond\n');
  assert.deepEqual(readdirSync(join(box, 'tmp')), []);
  assert.deepEqual(readdirSync(join(box, 'cur')), []);
});
