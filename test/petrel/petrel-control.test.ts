import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { newQueueId } from '../../src/global/queue/queue-id.js';
import { TestInstance } from '../support/instance.js';
import { REPO_ROOT } from '../support/run-command.js';

let mx: TestInstance;
before(async () => {
  mx = await TestInstance.create();
});
after(() => mx.remove());

test('petrel check creates the queue directories and names a broken table', () => {
  const ok = mx.run('petrel', ['check']);
  assert.equal(ok.status, 0, ok.stderr);
  for (const dir of ['incoming', 'active', 'deferred', 'hold', 'corrupt', 'maildrop', 'public', 'private']) assert.ok(existsSync(join(mx.queue, dir)), dir);
  appendFileSync(join(mx.etc, 'main.cf'), `transport_maps = hash:${join(mx.root, 'no-such-table')}\n`);
  const broken = mx.run('petrel', ['check']);
  assert.equal(broken.status, 1);
  assert.match(broken.stderr, /petrel: warning: transport_maps: open database .*no-such-table\.db: No such file or directory/);
  const status = mx.run('petrel', ['status']);
  assert.equal(status.status, 1);
  assert.match(status.stderr, /not running/);
  assert.equal(mx.run('petrel', ['flush']).status, 1);
});

/** Makes a temporary queue file in queue the way cleanup (or sendmail) does, then kills the writer: its name. */
function killedWriterFile(queue: string): string {
  const writer = join(REPO_ROOT, 'dist', 'src', 'global', 'queue', 'queue-file-write.js');
  const script = `const { QueueFileWriter } = await import(${JSON.stringify(writer)});
await QueueFileWriter.create(${JSON.stringify(mx.queue)}, ${JSON.stringify(queue)});
process.kill(process.pid, 'SIGKILL');`;
  mkdirSync(join(mx.queue, queue), { recursive: true });
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script]);
  assert.equal(run.signal, 'SIGKILL', run.stderr.toString());
  const temps = mx.queued(queue).filter((name) => name.endsWith('.tmp'));
  assert.equal(temps.length, 1, `${queue}: ${temps.join(' ')}`);
  return temps[0] as string;
}

test('petrel check and petrel start remove the temporary files killed writers left, and log it; a live writer keeps its file', () => {
  const fromCheck = killedWriterFile('incoming');
  const check = mx.run('petrel', ['check']);
  assert.doesNotMatch(check.stderr, /error|fatal/);
  assert.deepEqual(mx.queued('incoming'), []);
  assert.match(mx.logText(), new RegExp(`postfix/postsuper\\[\\d+\\]: warning: incoming/\\${fromCheck}: removed a stale temporary file`));

  const incoming = killedWriterFile('incoming');
  const maildrop = killedWriterFile('maildrop');
  // this test's own process stands for a cleanup still writing its file
  const live = `.${newQueueId()}.tmp`;
  writeFileSync(join(mx.queue, 'incoming', live), '');
  mx.start();
  try {
    assert.deepEqual(mx.queued('incoming'), [live]);
    assert.deepEqual(mx.queued('maildrop'), []);
    const log = mx.logText();
    for (const name of [`incoming/\\${incoming}`, `maildrop/\\${maildrop}`]) assert.match(log, new RegExp(`postsuper\\[\\d+\\]: warning: ${name}: removed a stale temporary file`));
  } finally {
    mx.stop();
    rmSync(join(mx.queue, 'incoming', live));
  }
});

test('a bad per-service value (relay_destination_concurrency_limit, local_time_limit) stops petrel check and petrel start, naming its main.cf line', async () => {
  const bad = await TestInstance.create('', 'postmaster: root\n');
  try {
    appendFileSync(join(bad.etc, 'master.cf'), 'relay unix - - n - - smtp\n');
    appendFileSync(join(bad.etc, 'main.cf'), 'relay_destination_concurrency_limit = lots\nlocal_time_limit = 0s\nlocal_destination_rate_delay = 1s\n');
    const check = bad.run('petrel', ['check']);
    assert.equal(check.status, 1);
    assert.match(check.stderr, /main\.cf, line \d+: bad numerical configuration: relay_destination_concurrency_limit = lots/);
    assert.match(check.stderr, /main\.cf, line \d+: invalid local_time_limit parameter value 0s: must be at least 1/);
    assert.doesNotMatch(check.stderr, /local_destination_rate_delay/);
    const start = bad.run('petrel', ['start']);
    assert.notEqual(start.status, 0);
    assert.match(start.stderr, /relay_destination_concurrency_limit = lots/);
    // A declared parameter's bad value names its line too.
    appendFileSync(join(bad.etc, 'main.cf'), 'local_destination_concurrency_limit = many\n');
    assert.match(bad.run('petrel', ['check']).stderr, /main\.cf, line \d+: bad numerical configuration: local_destination_concurrency_limit = many/);
  } finally {
    bad.remove();
  }
});
