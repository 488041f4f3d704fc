import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PetrelError } from '../../../src/global/errors.js';
import { contentStream, markRecipientsDone, readQueueFile } from '../../../src/global/queue/queue-file-read.js';
import { QueueFileWriter } from '../../../src/global/queue/queue-file-write.js';
import { isQueueId, newQueueId, queueIdTime } from '../../../src/global/queue/queue-id.js';
import { ensureQueueDirectories, queueFilePath, RECYCLE_DIRECTORY } from '../../../src/global/queue/queue-paths.js';
import { RECYCLE_MAX_BYTES, RECYCLE_POOL_LIMIT, recycleQueueFile } from '../../../src/global/queue/queue-recycle.js';

const queue = mkdtempSync(join(tmpdir(), 'petrel-queue-'));
after(() => rmSync(queue, { recursive: true }));
ensureQueueDirectories(queue);

async function readAll(stream: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const CONTENT = 'Subject: test\nFrom: a@example.com\n\nbody line 1\n.\nlast\n';

async function writeMessage(): Promise<string> {
  const writer = await QueueFileWriter.create(queue);
  writer.envelope({ arrival: 1_700_000_000_000, sender: 'a@example.com', attrs: { client_address: '127.0.0.1', helo_name: 'client.example' } });
  writer.recipient({ address: 'b@example.com', original: 'B@Example.com', notify: 'SUCCESS,DELAY', orcpt: 'rfc822;B@Example.com' });
  writer.beginContent();
  for (const part of CONTENT.match(/[\s\S]{1,7}/g) ?? []) await writer.writeContent(Buffer.from(part));
  await writer.endContent();
  writer.recipient({ address: 'bcc@example.com', original: 'bcc@example.com', notify: '', orcpt: '' });
  return writer.commit();
}

test('queue IDs are unique, well-formed and sort by time', () => {
  const ids = Array.from({ length: 5000 }, () => newQueueId());
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(ids.every(isQueueId));
  assert.deepEqual([...ids].sort(), ids);
  assert.ok(Math.abs(queueIdTime(ids[0] as string) - Date.now()) < 5000);
  assert.equal(isQueueId('../etc/passwd'), false);
  assert.throws(() => queueFilePath(queue, 'incoming', '../../x'), /bad queue ID/);
});

test('a written file reads back whole; the content streams; a recipient is marked done in place', async () => {
  const id = await writeMessage();
  const path = queueFilePath(queue, 'incoming', id);
  assert.deepEqual(readdirSync(join(queue, 'incoming')), [id]);
  const info = await readQueueFile(path);
  assert.equal(info.sender, 'a@example.com');
  assert.equal(info.arrival, 1_700_000_000_000);
  assert.deepEqual(info.attrs, { client_address: '127.0.0.1', helo_name: 'client.example' });
  assert.deepEqual(info.recipients.map((r) => [r.address, r.original, r.notify, r.orcpt, r.status, r.extracted]), [
    ['b@example.com', 'B@Example.com', 'SUCCESS,DELAY', 'rfc822;B@Example.com', '-', false],
    ['bcc@example.com', 'bcc@example.com', '', '', '-', true],
  ]);
  assert.equal(info.contentSize, Buffer.byteLength(CONTENT));
  assert.equal(info.headerSize, 'Subject: test\nFrom: a@example.com\n\n'.length);
  assert.equal(await readAll(contentStream(path, info)), CONTENT);
  const before = readFileSync(path).length;
  await markRecipientsDone(path, [info.recipients[0] as (typeof info.recipients)[number]]);
  const again = await readQueueFile(path);
  assert.deepEqual(again.recipients.map((r) => r.status), ['D', '-']);
  assert.equal(readFileSync(path).length, before);
});

test('an aborted file leaves nothing behind', async () => {
  const writer = await QueueFileWriter.create(queue, 'hold');
  writer.envelope({ arrival: 1, sender: '', attrs: {} });
  await writer.abort();
  assert.deepEqual(readdirSync(join(queue, 'hold')), []);
});

test('truncated, incomplete and garbage files are reported as corrupt', async () => {
  const id = await writeMessage();
  const path = queueFilePath(queue, 'incoming', id);
  const whole = readFileSync(path);
  const variants: [string, Buffer, RegExp][] = [
    ['no end record', whole.subarray(0, whole.length - 7), /incomplete: no end record/],
    ['cut in a record', whole.subarray(0, 40), /runs past the end|truncated/],
    ['garbage', Buffer.from('From: x\n\nhello\n'), /not a queue file|runs past the end|truncated/],
    ['empty', Buffer.alloc(0), /incomplete/],
    ['trailing bytes', Buffer.concat([whole, Buffer.from('x')]), /data after the end record|truncated|runs past/],
  ];
  for (const [label, bytes, want] of variants) {
    writeFileSync(path, bytes);
    await assert.rejects(readQueueFile(path), (err: unknown) => err instanceof PetrelError && err.code === 'queue_corrupt' && want.test(err.message), label);
  }
  truncateSync(path, 0);
});

test('a message larger than the write buffer streams through and reads back whole', async () => {
  const writer = await QueueFileWriter.create(queue);
  writer.envelope({ arrival: 2, sender: 'big@example.com', attrs: {} });
  writer.recipient({ address: 'b@example.com', original: 'b@example.com', notify: '', orcpt: '' });
  writer.beginContent();
  await writer.writeContent(Buffer.from('Subject: big\n\n'));
  const line = Buffer.from(`${'z'.repeat(99)}\n`);
  for (let i = 0; i < 20_000; i++) await writer.writeContent(line);
  await writer.endContent();
  const id = await writer.commit();
  const path = queueFilePath(queue, 'incoming', id);
  const info = await readQueueFile(path);
  assert.equal(info.contentSize, 14 + 20_000 * 100);
  assert.equal(info.headerSize, 14);
  const text = await readAll(contentStream(path, info));
  assert.equal(text.length, info.contentSize);
  assert.ok(text.endsWith(`${'z'.repeat(99)}\n`));
});

test('a finished file is recycled: the next message reuses its inode, cut to its own length, and reads back whole', async () => {
  const big = await QueueFileWriter.create(queue);
  big.envelope({ arrival: 3, sender: 'old@example.com', attrs: {} });
  big.recipient({ address: 'old@example.com', original: 'old@example.com', notify: '', orcpt: '' });
  big.beginContent();
  await big.writeContent(Buffer.from(`Subject: old\n\n${'old content\n'.repeat(5000)}`));
  await big.endContent();
  const oldPath = queueFilePath(queue, 'incoming', await big.commit());
  const inode = statSync(oldPath).ino;
  recycleQueueFile(queue, oldPath, statSync(oldPath).size);
  assert.deepEqual(readdirSync(join(queue, RECYCLE_DIRECTORY)).length, 1);
  const id = await writeMessage();
  const path = queueFilePath(queue, 'incoming', id);
  assert.equal(statSync(path).ino, inode, 'the spare file was taken');
  assert.deepEqual(readdirSync(join(queue, RECYCLE_DIRECTORY)), []);
  const info = await readQueueFile(path);
  assert.equal(info.sender, 'a@example.com');
  assert.equal(await readAll(contentStream(path, info)), CONTENT);
  assert.ok(!readFileSync(path).includes('old content'), 'nothing of the old message is left');
  recycleQueueFile(queue, path, statSync(path).size);
});

test('the spare pool stays bounded: past its limit, and for a large message, a finished file is removed', async () => {
  const pool = join(queue, RECYCLE_DIRECTORY);
  for (const name of readdirSync(pool)) rmSync(join(pool, name));
  for (let i = 0; i < RECYCLE_POOL_LIMIT + 3; i++) {
    const path = join(queue, 'active', newQueueId());
    writeFileSync(path, 'x');
    recycleQueueFile(queue, path, 1);
    assert.throws(() => statSync(path), /ENOENT/);
  }
  // qmgr counts the pool now and then and adds what it put in since, so it may keep a few fewer than the limit.
  const kept = readdirSync(pool).length;
  assert.ok(kept <= RECYCLE_POOL_LIMIT && kept >= RECYCLE_POOL_LIMIT - 3, `${kept} spare files`);
  for (const name of readdirSync(pool)) rmSync(join(pool, name));
  const large = join(queue, 'active', newQueueId());
  writeFileSync(large, 'x');
  recycleQueueFile(queue, large, RECYCLE_MAX_BYTES + 1);
  assert.throws(() => statSync(large), /ENOENT/);
  assert.deepEqual(readdirSync(pool), []);
});

test("a file that holds another message's content under a new name (a reused file, its new content lost in a crash) is corrupt, never delivered", async () => {
  const id = await writeMessage();
  const path = queueFilePath(queue, 'incoming', id);
  const other = queueFilePath(queue, 'incoming', newQueueId());
  writeFileSync(other, readFileSync(path));
  await assert.rejects(readQueueFile(other), (err: unknown) => err instanceof PetrelError && err.code === 'queue_corrupt' && /old content of message/.test(err.message));
  rmSync(other);
});

test('only regular files are taken from the pool; one that cannot be opened is dropped and a new file made instead', async () => {
  const pool = join(queue, RECYCLE_DIRECTORY);
  for (const name of readdirSync(pool)) rmSync(join(pool, name));
  const planted = newQueueId();
  mkdirSync(join(pool, planted));
  const unreadable = newQueueId();
  writeFileSync(join(pool, unreadable), 'old', { mode: 0o400 });
  const id = await writeMessage();
  assert.equal((await readQueueFile(queueFilePath(queue, 'incoming', id))).sender, 'a@example.com');
  // The directory stays; the read-only file was reused (root may write it) or dropped (no one else may).
  assert.deepEqual(readdirSync(pool), [planted]);
  assert.ok(!readdirSync(join(queue, 'incoming')).some((name) => name.endsWith('.tmp')));
  rmSync(join(pool, planted), { recursive: true });
});
