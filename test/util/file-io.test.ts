import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fsyncCoversRename, fsyncDirectory } from '../../src/util/file-io.js';

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
