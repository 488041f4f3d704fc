import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { tcpTableServer, type TestServer } from '../global/tables/table-servers.js';
import { TestInstance } from '../support/instance.js';
import { waitFor } from '../support/wait.js';

let mx: TestInstance;
let table: TestServer;
/** What the transport_maps server answers every lookup with. */
let answer = '400 try%20later';

// smtpd refuses (451) a recipient it cannot route while the table fails; mail submitted with sendmail reaches qmgr.
before(async () => {
  table = await tcpTableServer(() => answer).listen();
  mx = await TestInstance.create('', 'postmaster: root\n', {
    transport_maps: `tcp:127.0.0.1:${table.port}`,
    petrel_table_cache_time: '0',
    minimal_backoff_time: '300s',
    maximal_backoff_time: '600s',
  });
  mx.start();
});

after(async () => {
  mx.remove();
  await table.stop();
});

test('a recipient whose routing table fails is deferred (4.3.0) with its backoff, and delivered once the table answers', async () => {
  const before = Date.now();
  assert.equal(mx.run('sendmail', ['-f', 'sender@example.org', 'alice@localhost'], 'Subject: routed\n\nbody\n').status, 0);
  const id = /qmgr\[\d+\]: ([0-9A-Z]+): from=<sender@example\.org>/.exec(await mx.waitForLog(/from=<sender@example\.org>.*queue active/))?.[1] as string;
  const log = await mx.waitForLog(new RegExp(`${id}: to=<alice@localhost>, relay=none, .*dsn=4\\.3\\.0, status=deferred \\(address resolver failure\\)`));
  assert.match(log, new RegExp(`qmgr\\[\\d+\\]: warning: ${id}: to=<alice@localhost>: address resolver failure: .*try later`));
  await waitFor(() => mx.queued('deferred').includes(id), 'the message in deferred/');
  // Its next attempt is minimal_backoff_time away (the file's modification time), not due at once.
  const due = statSync(join(mx.queue, 'deferred', id)).mtimeMs;
  assert.ok(due >= before + 290_000, `next attempt ${new Date(due).toISOString()} is not about 300 s away`);
  answer = '500 not%20found';
  assert.equal(mx.run('postqueue', ['-f']).status, 0);
  await mx.waitForLog(new RegExp(`${id}: to=<alice@localhost>, relay=local, .*status=sent \\(delivered to maildir\\)`));
  assert.equal(mx.maildir('alice').length, 1);
});
