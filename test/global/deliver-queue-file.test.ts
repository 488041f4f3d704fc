import assert from 'node:assert/strict';
import { fstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { withQueueFile } from '../../src/global/deliver-queue-file.js';
import { QueueFileWriter } from '../../src/global/queue/queue-file-write.js';
import { ensureQueueDirectories, queueFilePath } from '../../src/global/queue/queue-paths.js';

const queue = mkdtempSync(join(tmpdir(), 'petrel-deliver-file-'));
after(() => rmSync(queue, { recursive: true }));
ensureQueueDirectories(queue);

async function writeMessage(): Promise<string> {
  const writer = await QueueFileWriter.create(queue);
  writer.envelope({ arrival: 1_700_000_000_000, sender: 'a@example.com', attrs: {} });
  writer.recipient({ address: 'b@example.com', original: 'b@example.com', notify: '', orcpt: '' });
  writer.beginContent();
  await writer.writeContent(Buffer.from('Subject: x\n\nbody\n'));
  await writer.endContent();
  return queueFilePath(queue, 'incoming', await writer.commit());
}

const deferred = (dsn: string, reason: string): string => `${dsn} ${reason}`;

test('a queue file that cannot be opened or read defers with 4.3.0 "cannot read queue file"', async () => {
  const garbage = join(queue, 'garbage');
  writeFileSync(garbage, 'not a queue file\n');
  const cases: [string, RegExp][] = [
    [join(queue, 'missing'), /^4\.3\.0 cannot read queue file: open .*missing: ENOENT/],
    [garbage, /^4\.3\.0 cannot read queue file: .*garbage/],
  ];
  for (const [path, expected] of cases) {
    const outcome = await withQueueFile(path, async () => 'used', deferred);
    assert.match(outcome, expected, path);
  }
});

test('the agent works with the open file and its envelope; the file is closed after, also when the work throws', async () => {
  const path = await writeMessage();
  let fd = -1;
  const outcome = await withQueueFile(
    path,
    async (file, info) => {
      fd = file;
      return `${info.sender} ${info.recipients.map((r) => r.address).join(',')}`;
    },
    deferred,
  );
  assert.equal(outcome, 'a@example.com b@example.com');
  assert.throws(() => fstatSync(fd), { code: 'EBADF' });
  await assert.rejects(
    withQueueFile(
      path,
      async (file) => {
        fd = file;
        throw new Error('agent trouble');
      },
      deferred,
    ),
    /agent trouble/,
  );
  assert.throws(() => fstatSync(fd), { code: 'EBADF' });
});
