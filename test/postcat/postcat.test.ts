import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { QueueFileWriter } from '../../src/global/queue/queue-file-write.js';
import { ensureQueueDirectories, queueFilePath } from '../../src/global/queue/queue-paths.js';
import { runPetrel } from '../support/run-command.js';

const work = mkdtempSync(join(tmpdir(), 'petrel-postcat-'));
after(() => rmSync(work, { recursive: true }));
const queue = join(work, 'queue');
ensureQueueDirectories(queue);
writeFileSync(join(work, 'main.cf'), `queue_directory = ${queue}\n`);

test('postcat shows envelope, content and extracted recipients; -q, -e, -h, -b', async () => {
  const writer = await QueueFileWriter.create(queue);
  writer.envelope({ arrival: Date.UTC(2026, 10, 22, 12, 0, 0), sender: 'a@example.com', attrs: { client_address: '127.0.0.1' } });
  writer.recipient({ address: 'b@example.com', original: 'B@example.com', notify: 'NEVER', orcpt: '' });
  writer.beginContent();
  await writer.writeContent(Buffer.from('Subject: hi\n\nbody\n'));
  await writer.endContent();
  writer.recipient({ address: 'c@example.com', original: 'c@example.com', notify: '', orcpt: '' });
  const id = await writer.commit();
  const path = queueFilePath(queue, 'incoming', id);

  const all = runPetrel('postcat', ['-c', work, '-q', id], undefined, { ...process.env, TZ: 'UTC' });
  assert.equal(all.status, 0, all.stderr);
  assert.equal(
    all.stdout,
    [
      `*** ENVELOPE RECORDS ${path} ***`,
      `message_size: ${'18'.padStart(15)} ${'13'.padStart(15)} ${'2'.padStart(15)}`,
      'message_arrival_time: Sun Nov 22 12:00:00 2026',
      'named_attribute: client_address=127.0.0.1',
      'sender: a@example.com',
      'original_recipient: B@example.com',
      'dsn_notify_flags: NEVER',
      'recipient: b@example.com',
      `*** MESSAGE CONTENTS ${path} ***`,
      'Subject: hi',
      '',
      'body',
      `*** HEADER EXTRACTED ${path} ***`,
      'recipient: c@example.com',
      `*** MESSAGE FILE END ${path} ***`,
      '',
    ].join('\n'),
  );
  assert.equal(runPetrel('postcat', ['-h', path]).stdout, 'Subject: hi\n\n');
  assert.equal(runPetrel('postcat', ['-b', path]).stdout, 'body\n');
  assert.doesNotMatch(runPetrel('postcat', ['-e', path]).stdout, /MESSAGE CONTENTS/);

  const missing = runPetrel('postcat', ['-c', work, '-q', 'AAAAAAAAAAAAAAAA']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no message file for queue id AAAAAAAAAAAAAAAA/);
  writeFileSync(join(work, 'garbage'), 'not a queue file at all\n');
  const bad = runPetrel('postcat', [join(work, 'garbage')]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /postcat: error: .*garbage/);
});
