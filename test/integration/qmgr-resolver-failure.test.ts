import assert from 'node:assert/strict';
import { appendFileSync, statSync, writeFileSync } from 'node:fs';
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
  // A message whose FILTER names transport and next hop needs no routing table.
  const checks = join(mx.etc, 'header_checks');
  writeFileSync(checks, '/^Subject: scan me/ FILTER scanner:[127.0.0.1]:10025\n');
  appendFileSync(join(mx.etc, 'main.cf'), `header_checks = regexp:${checks}\n`);
  appendFileSync(join(mx.etc, 'master.cf'), 'scanner unix - - n - - discard\n');
  mx.start();
});

after(async () => {
  mx.remove();
  await table.stop();
});

test('recipients whose routing table fails are deferred (4.3.0) with their backoff, and delivered once the table answers', async () => {
  const before = Date.now();
  assert.equal(mx.run('sendmail', ['-f', 'sender@example.org', 'alice@localhost', 'bob@localhost'], 'Subject: routed\n\nbody\n').status, 0);
  const id = /qmgr\[\d+\]: ([0-9A-Z]+): from=<sender@example\.org>/.exec(await mx.waitForLog(/from=<sender@example\.org>.*queue active/))?.[1] as string;
  const log = await mx.waitForLog(new RegExp(`${id}: to=<bob@localhost>, relay=none, .*dsn=4\\.3\\.0, status=deferred \\(address resolver failure\\)`));
  assert.match(log, new RegExp(`${id}: to=<alice@localhost>, relay=none, .*dsn=4\\.3\\.0, status=deferred \\(address resolver failure\\)`));
  // The table is asked once an attempt: the first failure holds back the message's other recipients too.
  assert.equal([...log.matchAll(new RegExp(`warning: ${id}: to=<[^>]+>: address resolver failure: .*try later`, 'g'))].length, 1);
  await waitFor(() => mx.queued('deferred').includes(id), 'the message in deferred/');
  // Its next attempt is minimal_backoff_time away (the file's modification time), not due at once.
  const due = statSync(join(mx.queue, 'deferred', id)).mtimeMs;
  assert.ok(due >= before + 290_000, `next attempt ${new Date(due).toISOString()} is not about 300 s away`);
  answer = '500 not%20found';
  assert.equal(mx.run('postqueue', ['-f']).status, 0);
  await mx.waitForLog(new RegExp(`${id}: to=<alice@localhost>, relay=local, .*status=sent \\(delivered to maildir\\)`));
  await mx.waitForLog(new RegExp(`${id}: to=<bob@localhost>, relay=local, .*status=sent \\(delivered to maildir\\)`));
  assert.equal(mx.maildir('alice').length, 1);
});

test('a message whose FILTER names transport and next hop goes to the filter while the routing table fails', async () => {
  answer = '400 try%20later';
  assert.equal(mx.run('sendmail', ['-f', 'scanned@example.org', 'carol@localhost'], 'Subject: scan me\n\nbody\n').status, 0);
  const id = /qmgr\[\d+\]: ([0-9A-Z]+): from=<scanned@example\.org>/.exec(await mx.waitForLog(/from=<scanned@example\.org>.*queue active/))?.[1] as string;
  await mx.waitForLog(new RegExp(`${id}: to=<carol@localhost>, relay=none, .*status=sent \\(discarded: \\[127\\.0\\.0\\.1\\]:10025\\)`));
  assert.doesNotMatch(mx.logText(), new RegExp(`${id}: .*address resolver failure`));
});
