import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBounded, TIMED_OUT } from '../../src/util/bounded-run.js';

test('jobs run in order; one that alone runs past the bound answers TIMED_OUT and the rest still run', () => {
  const slow = /^(a+)+$/;
  const timedOut: number[] = [];
  const started = Date.now();
  const results = runBounded<string | boolean>([() => 'first', () => slow.test(`${'a'.repeat(40)}b`), () => 'third'], 50, (index) => timedOut.push(index));
  assert.deepEqual(results, ['first', TIMED_OUT, 'third']);
  assert.deepEqual(timedOut, [1]);
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
});

test('a long batch of quick jobs is not blamed on the job that was running when the time ran out', () => {
  const busy = (): number => {
    const until = Date.now() + 30;
    let n = 0;
    while (Date.now() < until) n++;
    return n > 0 ? 1 : 0;
  };
  const timedOut: number[] = [];
  const results = runBounded(Array.from({ length: 40 }, () => busy), 500, (index) => timedOut.push(index));
  assert.deepEqual(timedOut, []);
  assert.equal(results.filter((r) => r === 1).length, 40);
});
