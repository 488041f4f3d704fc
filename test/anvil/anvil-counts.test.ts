import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnvilStatistics, LocalCounts } from '../../src/anvil/anvil-counts.js';
import { captureMessages } from '../../src/util/msg.js';

test('connections count up and down; each rate is a window of the time unit from its first event', () => {
  let now = 1_000_000;
  const counts = new LocalCounts(60_000, () => now);
  assert.deepEqual(counts.connect('smtp:192.0.2.1'), { count: 1, rate: 1 });
  assert.deepEqual(counts.connect('smtp:192.0.2.1'), { count: 2, rate: 2 });
  assert.deepEqual(counts.connect('submission:192.0.2.1'), { count: 1, rate: 1 }, 'counted per service');
  counts.disconnect('smtp:192.0.2.1');
  counts.disconnect('smtp:192.0.2.9');
  assert.equal(counts.event('smtp:192.0.2.1', 'message'), 1);
  assert.equal(counts.event('smtp:192.0.2.1', 'message'), 2);
  assert.equal(counts.rate('smtp:192.0.2.1', 'message'), 2, 'a status query does not count');
  assert.equal(counts.rate('smtp:192.0.2.1', 'newtls'), 0);
  now += 59_999;
  assert.deepEqual(counts.connect('smtp:192.0.2.1'), { count: 2, rate: 3 });
  now += 1;
  assert.deepEqual(counts.connect('smtp:192.0.2.1'), { count: 3, rate: 1 }, 'a new window; connections still open');
  assert.equal(counts.rate('smtp:192.0.2.1', 'message'), 0);
});

test('sweep forgets clients without connections whose windows have ended', () => {
  let now = 0;
  const counts = new LocalCounts(60_000, () => now);
  counts.connect('smtp:192.0.2.1');
  counts.connect('smtp:192.0.2.2');
  counts.disconnect('smtp:192.0.2.2');
  counts.event('smtp:192.0.2.3', 'auth');
  now = 30_000;
  counts.sweep();
  assert.equal(counts.size, 3);
  now = 60_000;
  counts.sweep();
  assert.equal(counts.size, 1, 'only the client with an open connection is kept');
});

test("statistics lines are Postfix's, report the peaks since the last lines, and nothing when there were none", () => {
  const statistics = new AnvilStatistics(60);
  statistics.note('connectRate', 2, 'smtp:192.0.2.1');
  statistics.note('connectRate', 5, 'smtp:192.0.2.7');
  statistics.note('connectRate', 3, 'smtp:192.0.2.1');
  statistics.note('connections', 4, 'smtp:192.0.2.7');
  statistics.note('message', 9, 'smtp:192.0.2.7');
  statistics.noteCacheSize(2);
  const { messages } = captureMessages(() => statistics.log());
  const stamp = '[A-Z][a-z]{2} [ 123]\\d \\d\\d:\\d\\d:\\d\\d';
  assert.equal(messages.length, 4, messages.join('\n'));
  assert.match(messages[0] as string, new RegExp(`^info: statistics: max connection rate 5/60s for \\(smtp:192\\.0\\.2\\.7\\) at ${stamp}$`));
  assert.match(messages[1] as string, new RegExp(`^info: statistics: max connection count 4 for \\(smtp:192\\.0\\.2\\.7\\) at ${stamp}$`));
  assert.match(messages[2] as string, new RegExp(`^info: statistics: max message rate 9/60s for \\(smtp:192\\.0\\.2\\.7\\) at ${stamp}$`));
  assert.match(messages[3] as string, new RegExp(`^info: statistics: max cache size 2 at ${stamp}$`));
  assert.deepEqual(captureMessages(() => statistics.log()).messages, []);
});
