import assert from 'node:assert/strict';
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestInstance } from '../support/instance.js';

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
