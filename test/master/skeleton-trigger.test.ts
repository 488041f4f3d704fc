/*
 * skeleton-trigger - the trigger server's request queue: requests that come
 * during a run are folded into one more run right after it (never lost,
 * never run alongside), and each requester hears when the run that saw its
 * codes is over. The runs are held open by the test, so no timing is
 * involved.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TriggerQueue } from '../../src/master/skeleton-trigger.js';

/** A handler whose runs the test ends one by one. */
class HeldHandler {
  readonly runs: string[][] = [];
  private readonly ends: { finish: () => void; fail: (err: Error) => void }[] = [];
  private running = 0;
  overlapped = false;

  readonly handler = (codes: ReadonlySet<string>): Promise<void> => {
    this.runs.push([...codes].sort());
    this.running++;
    if (this.running > 1) this.overlapped = true;
    return new Promise<void>((resolve, reject) => {
      this.ends.push({
        finish: () => {
          this.running--;
          resolve();
        },
        fail: (err) => {
          this.running--;
          reject(err);
        },
      });
    });
  };

  /** Ends the oldest open run, then lets the queue react. */
  async finish(err?: Error): Promise<void> {
    const end = this.ends.shift();
    assert.ok(end, 'a run is open');
    if (err === undefined) end.finish();
    else end.fail(err);
    await settle();
  }
}

/** Lets every pending promise callback run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Records when a request's promise settles. */
function track(promise: Promise<void>): { state: string } {
  const tracked = { state: 'pending' };
  promise.then(
    () => (tracked.state = 'done'),
    (err: Error) => (tracked.state = `failed: ${err.message}`),
  );
  return tracked;
}

test('a request while idle runs at once with its codes', async () => {
  const held = new HeldHandler();
  const queue = new TriggerQueue(held.handler);
  const first = track(queue.request('I'));
  assert.deepEqual(held.runs, [['I']]);
  await settle();
  assert.equal(first.state, 'pending', 'the requester waits for its run');
  await held.finish();
  assert.equal(first.state, 'done');
  assert.deepEqual(held.runs, [['I']], 'no run without a request');
});

test('requests during a run are coalesced into exactly one rescan after it, with every code they brought', async () => {
  const held = new HeldHandler();
  const queue = new TriggerQueue(held.handler);
  const first = track(queue.request('I'));
  const during = [track(queue.request('I')), track(queue.request('F')), track(queue.request(['D', 'I']))];
  assert.deepEqual(held.runs, [['I']], 'no second run while the first is open');
  await held.finish();
  assert.equal(first.state, 'done');
  assert.deepEqual(held.runs, [['I'], ['D', 'F', 'I']], 'the rescan ran, once, with the union of the codes');
  assert.ok(during.every((t) => t.state === 'pending'), 'the later requests wait for the rescan, not the run they came during');
  await held.finish();
  assert.ok(during.every((t) => t.state === 'done'));
  assert.equal(held.runs.length, 2);
  assert.equal(held.overlapped, false);
});

test('a request with no codes still gets a run (pickup scans on any connection)', async () => {
  const held = new HeldHandler();
  const queue = new TriggerQueue(held.handler);
  const first = track(queue.request([]));
  void queue.request([]);
  await held.finish();
  assert.equal(first.state, 'done');
  assert.deepEqual(held.runs, [[], []], 'the empty request during the run got its rescan');
  await held.finish();
});

test('a failed run rejects its requesters only; a request that came during it still gets its rescan', async () => {
  const held = new HeldHandler();
  const queue = new TriggerQueue(held.handler);
  const first = track(queue.request('W'));
  const during = track(queue.request('I'));
  await held.finish(new Error('queue directory gone'));
  assert.equal(first.state, 'failed: queue directory gone');
  assert.equal(during.state, 'pending');
  assert.deepEqual(held.runs, [['W'], ['I']]);
  await held.finish();
  assert.equal(during.state, 'done');
  // And the queue serves again once idle.
  const later = track(queue.request('F'));
  assert.deepEqual(held.runs, [['W'], ['I'], ['F']]);
  await held.finish();
  assert.equal(later.state, 'done');
});
