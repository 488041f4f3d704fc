import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/global/config/load-config.js';
import { DestinationSlots } from '../../src/qmgr/qmgr-limits.js';
import { stillPending, waitFor, within } from '../support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(
  join(dir, 'main.cf'),
  ['initial_destination_concurrency = 2', 'default_destination_concurrency_limit = 3', 'minimal_backoff_time = 60s', 'slow_destination_rate_delay = 1s', 'patient_destination_concurrency_failed_cohort_limit = 2', ''].join('\n'),
);
const config = loadConfig({ configDir: dir });

// A slot is granted or queued when acquire() is called, and a queued one only by a release: so a grant is
// waited for (within), and a wait is seen at once (stillPending), with no time given to either.

test('slow start: a destination begins at initial_destination_concurrency and grows by one per success up to its limit', async () => {
  const slots = new DestinationSlots(config);
  const first = await slots.acquire('smtp', 'a.example');
  await slots.acquire('smtp', 'a.example');
  const third = slots.acquire('smtp', 'a.example');
  assert.equal(await stillPending(third), true);
  first({ ok: true });
  await within(third, 'the third slot after a success');
  await within(slots.acquire('smtp', 'a.example'), 'a slot in the window of 3');
  assert.equal(await stillPending(slots.acquire('smtp', 'a.example')), true, 'and the limit of 3 holds');
});

test('a failed delivery marks the destination dead for minimal_backoff_time (cohort limit 1 by default, per transport otherwise); a flush revives it', async () => {
  const slots = new DestinationSlots(config);
  (await slots.acquire('smtp', 'down.example'))({ ok: false, reason: 'connect to down.example[192.0.2.1]:25: Connection refused' });
  assert.equal(slots.dead('smtp', 'down.example'), 'connect to down.example[192.0.2.1]:25: Connection refused');
  assert.equal(slots.dead('smtp', 'up.example'), undefined);
  slots.reviveAll();
  assert.equal(slots.dead('smtp', 'down.example'), undefined);
  (await slots.acquire('patient', 'x.example'))({ ok: false, reason: 'one' });
  assert.equal(slots.dead('patient', 'x.example'), undefined);
  (await slots.acquire('patient', 'x.example'))({ ok: false, reason: 'two' });
  assert.equal(slots.dead('patient', 'x.example'), 'two');
});

test('deliveries still waiting when their destination is marked dead are told why, and get no slot', async () => {
  const slots = new DestinationSlots(config);
  const first = await slots.acquire('smtp', 'dying.example', 'A');
  const second = await slots.acquire('smtp', 'dying.example', 'B');
  const waiting = [slots.acquire('smtp', 'dying.example', 'C'), slots.acquire('smtp', 'dying.example', 'D'), slots.acquire('smtp', 'dying.example', 'C')];
  assert.equal(await stillPending(waiting[0] as Promise<unknown>), true);
  first({ ok: false, reason: 'connect to dying.example[192.0.2.2]:25: Connection timed out' });
  for (const wait of waiting) await assert.rejects(within(wait, 'the answer of a waiting delivery'), /^Error: connect to dying\.example\[192\.0\.2\.2\]:25: Connection timed out$/);
  // A flush revives the destination: the next delivery waits for the window (1 after the failure, held by B), not for a death.
  slots.reviveAll();
  const next = slots.acquire('smtp', 'dying.example', 'E');
  assert.equal(await stillPending(next), true);
  second({ ok: true });
  await within(next, 'the slot B gave back');
});

test('<transport>_destination_rate_delay spaces deliveries and allows one at a time', async () => {
  const slots = new DestinationSlots(config);
  const started = Date.now();
  const release = await slots.acquire('slow', 'b.example');
  const second = slots.acquire('slow', 'b.example');
  assert.equal(await stillPending(second), true);
  release({ ok: true });
  (await second)({ ok: true });
  assert.ok(Date.now() - started >= 1000, `second delivery started after ${Date.now() - started} ms`);
});

test('free slots go round the waiting messages: a large mailing does not hold up a small message', async () => {
  const slots = new DestinationSlots(config);
  const held = [await slots.acquire('smtp', 'c.example', 'BIG'), await slots.acquire('smtp', 'c.example', 'BIG')];
  const order: string[] = [];
  const waiting = [
    ...[1, 2, 3, 4].map((n) => slots.acquire('smtp', 'c.example', 'BIG').then((release) => (order.push(`BIG${n}`), release))),
    slots.acquire('smtp', 'c.example', 'SMALL').then((release) => (order.push('SMALL'), release)),
  ];
  (held[0] as (f: { ok: true }) => void)({ ok: true });
  await waitFor(() => order.length >= 2, 'the two freed slots taken');
  assert.deepEqual(order, ['SMALL', 'BIG1'], 'the slot freed by BIG (and the one gained by slow start) went to SMALL first');
  void waiting;
});

test('a freed slot is handed to the delivery waiting for it: one asked for after the release waits its turn', async () => {
  const slots = new DestinationSlots(config);
  const a = await slots.acquire('smtp', 'd.example', 'A');
  const b = await slots.acquire('smtp', 'd.example', 'B');
  a({ ok: true });
  await slots.acquire('smtp', 'd.example', 'C');
  await slots.acquire('smtp', 'd.example', 'D');
  const waiting = slots.acquire('smtp', 'd.example', 'W');
  assert.equal(await stillPending(waiting), true, 'the window of 3 is full');
  b({ ok: true });
  const fresh = slots.acquire('smtp', 'd.example', 'F');
  await within(waiting, 'the slot B gave back, handed to W');
  assert.equal(await stillPending(fresh), true, 'F came after the release and waits');
});

test('when one release frees several slots, each goes to the message with the fewest deliveries running by then', async () => {
  const slots = new DestinationSlots(config);
  const held = [await slots.acquire('smtp', 'e.example', 'BIG'), await slots.acquire('smtp', 'e.example', 'BIG')];
  const order: string[] = [];
  for (const message of ['BIG', 'BIG', 'SMALL', 'SMALL']) void slots.acquire('smtp', 'e.example', message).then(() => order.push(message));
  (held[0] as (f: { ok: true }) => void)({ ok: true });
  await waitFor(() => order.length >= 2, 'the two freed slots taken');
  assert.deepEqual(order, ['SMALL', 'BIG'], 'the second slot went to BIG once SMALL had one running');
});

test('a delivery holds its slot through the rate delay: one asked for meanwhile waits', async () => {
  const slots = new DestinationSlots(config);
  const first = await slots.acquire('slow', 'f.example');
  const second = slots.acquire('slow', 'f.example');
  first({ ok: true });
  const third = slots.acquire('slow', 'f.example');
  assert.equal(await stillPending(third), true, 'the second delivery, in its rate delay, has the one slot');
  (await within(second, 'the second delivery after its rate delay', 3000))({ ok: true });
  await within(third, 'the third delivery after its own rate delay', 3000);
});

test('request() hands a slot over never synchronously: not from inside request(), nor from inside the release that frees it', async () => {
  const slots = new DestinationSlots(config);
  let inside = false;
  const seen: boolean[] = [];
  const releases: ((f: { ok: true }) => void)[] = [];
  const onSlot = (release: (f: { ok: true }) => void): void => {
    seen.push(inside);
    releases.push(release);
  };
  inside = true;
  slots.request('smtp', 'g.example', 'A', onSlot, () => assert.fail('g.example died'));
  slots.request('smtp', 'g.example', 'B', onSlot, () => assert.fail('g.example died'));
  slots.request('smtp', 'g.example', 'C', onSlot, () => assert.fail('g.example died'));
  inside = false;
  await waitFor(() => releases.length >= 2, 'the two slots of the initial window');
  inside = true;
  (releases[0] as (f: { ok: true }) => void)({ ok: true });
  inside = false;
  await waitFor(() => releases.length >= 3, 'the slot A gave back, handed to C');
  assert.deepEqual(seen, [false, false, false]);
});
