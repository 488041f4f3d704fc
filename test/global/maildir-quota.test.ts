/*
 * maildir-quota: the Maildir++ maildirsize file: parsing (quota line and
 * signed change lines), recalculation over the INBOX and every .Folder by
 * S= sizes, appends, and when a file is recalculated (missing, too long,
 * another quota).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { addToMaildirSize, currentMaildirSize, folderUsage, maildirUsage, parseMaildirSize, readMaildirSize } from '../../src/global/maildir-quota.js';

const root = mkdtempSync(join(tmpdir(), 'petrel-quota-'));
after(() => rmSync(root, { recursive: true, force: true }));

function maildir(name: string): string {
  const dir = join(root, name);
  for (const folder of ['', '.Sent', '.Trash']) for (const sub of ['tmp', 'new', 'cur']) mkdirSync(join(dir, folder, sub), { recursive: true });
  writeFileSync(join(dir, 'new', '1.M1P1.host,S=100'), 'x'.repeat(100));
  writeFileSync(join(dir, 'cur', '2.M2P2.host,S=250:2,S'), 'x'.repeat(250));
  writeFileSync(join(dir, 'cur', '3.M3P3.host:2,'), 'x'.repeat(40));
  writeFileSync(join(dir, '.Sent', 'cur', '4.M4P4.host,S=1000:2,S'), 'x');
  writeFileSync(join(dir, '.Trash', 'new', '5.M5P5.host,S=5000'), 'x');
  return dir;
}

test('parsing: the quota line, then signed changes summed; a bad first line is no maildirsize', () => {
  assert.deepEqual(parseMaildirSize('1000000S,100C\n500 2\n-100 -1\n  300   1\n'), { limitBytes: 1000000, limitMessages: 100, usage: { bytes: 700, messages: 2 } });
  assert.deepEqual(parseMaildirSize('2048S\n'), { limitBytes: 2048, limitMessages: 0, usage: { bytes: 0, messages: 0 } });
  assert.equal(parseMaildirSize('garbage\n1 1\n'), undefined);
});

test('usage counts S= sizes (else the file size) in new/ and cur/ of the INBOX and every folder', async () => {
  const dir = maildir('usage');
  assert.deepEqual(await folderUsage(dir), { bytes: 390, messages: 3 });
  assert.deepEqual(await folderUsage(join(dir, '.Trash')), { bytes: 5000, messages: 1 });
  assert.deepEqual(await maildirUsage(dir), { bytes: 6390, messages: 5 });
});

test('a missing file is created by recalculation, then changes are appended; another quota or a long file recalculates', async () => {
  const dir = maildir('file');
  const first = await currentMaildirSize(dir, 10000);
  assert.deepEqual(first.usage, { bytes: 6390, messages: 5 });
  assert.equal(readFileSync(join(dir, 'maildirsize'), 'utf8'), '10000S\n6390 5\n');
  addToMaildirSize(dir, { bytes: 610, messages: 1 });
  assert.deepEqual((await readMaildirSize(dir))?.usage, { bytes: 7000, messages: 6 });
  assert.deepEqual((await currentMaildirSize(dir, 10000)).usage, { bytes: 7000, messages: 6 }, 'the same quota: the file is read, not recalculated');
  assert.deepEqual((await currentMaildirSize(dir, 20000)).usage, { bytes: 6390, messages: 5 }, 'another quota: recalculated from the folders');
  assert.equal(readFileSync(join(dir, 'maildirsize'), 'utf8'), '20000S\n6390 5\n');
  writeFileSync(join(dir, 'maildirsize'), `20000S,50C\n${'1 1\n'.repeat(2000)}`);
  const long = await currentMaildirSize(dir, 20000);
  assert.deepEqual(long.usage, { bytes: 6390, messages: 5 });
  assert.equal(long.limitMessages, 50, 'a message quota another program keeps stays');
  assert.equal(readFileSync(join(dir, 'maildirsize'), 'utf8'), '20000S,50C\n6390 5\n');
});

test('an append to a Maildir without maildirsize creates nothing', () => {
  const dir = maildir('none');
  addToMaildirSize(dir, { bytes: 1, messages: 1 });
  assert.throws(() => readFileSync(join(dir, 'maildirsize')), /ENOENT/);
});
