import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fsyncCoversRename, fsyncDirectory, readRegularFileSync } from '../../src/util/file-io.js';

const root = mkdtempSync(join(tmpdir(), 'petrel-file-io-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('directory fsyncs asked for at once all complete; a failing one fails its callers and not the next', async () => {
  const dir = join(root, 'maildir');
  mkdirSync(dir);
  const files = Array.from({ length: 50 }, (_, i) => join(dir, `f${i}`));
  await Promise.all(
    files.map(async (file, i) => {
      writeFileSync(file, 'x');
      if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
      await fsyncDirectory(file);
    }),
  );
  const gone = join(root, 'gone', 'file');
  const failures = await Promise.allSettled([fsyncDirectory(gone), fsyncDirectory(gone), fsyncDirectory(gone)]);
  assert.ok(failures.every((f) => f.status === 'rejected' && /ENOENT/.test(String(f.reason))));
  mkdirSync(join(root, 'gone'));
  await fsyncDirectory(gone);
});

test('fsyncCoversRename is false for a file system it does not know (tmpfs) and for what it cannot read', () => {
  assert.equal(fsyncCoversRename('/dev/shm'), false);
  assert.equal(fsyncCoversRename(join(root, 'no', 'such', 'dir')), false);
});

test('readRegularFileSync reads a regular file, passes over a FIFO without blocking, and throws for a missing one', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-regular-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'plain'), 'text\n');
  assert.equal(readRegularFileSync(join(dir, 'plain'))?.text, 'text\n');
  assert.equal(readRegularFileSync(join(dir, 'plain'))?.stat.size, 5);
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  assert.equal(readRegularFileSync(join(dir, 'fifo')), undefined);
  assert.throws(() => readRegularFileSync(join(dir, 'missing')), { code: 'ENOENT' });
});
