import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeEntry, StatusCache } from '../../src/verify/verify-cache.js';
import { PROBE_TTL_MS, VerifyService, type VerifyServiceParams } from '../../src/verify/verify-service.js';

const DAY = 86_400;
const PARAMS: VerifyServiceParams = {
  address_verify_positive_expire_time: 31 * DAY,
  address_verify_positive_refresh_time: 7 * DAY,
  address_verify_negative_cache: true,
  address_verify_negative_expire_time: 3 * DAY,
  address_verify_negative_refresh_time: 3 * 3600,
};

function service(params: VerifyServiceParams = PARAMS, cache = StatusCache.open('')): { verify: VerifyService; probes: string[]; cache: StatusCache } {
  const probes: string[] = [];
  const verify = new VerifyService(params, cache, async (address) => {
    probes.push(address);
    return true;
  });
  return { verify, probes, cache };
}

test('an unknown address is in progress and gets one probe until the probe TTL passes', async () => {
  const { verify, probes } = service();
  const t = 1_000_000_000;
  assert.deepEqual(await verify.query('A@Example.org', t), { status: 'todo', text: 'Address verification in progress' });
  assert.deepEqual(await verify.query('a@example.org', t + 5000), { status: 'todo', text: 'Address verification in progress' });
  assert.deepEqual(probes, ['A@Example.org']);
  await verify.query('a@example.org', t + PROBE_TTL_MS + 1);
  assert.equal(probes.length, 2);
});

test('results are answered from the cache, refreshed after their refresh time and forgotten after their expiry', async () => {
  const { verify, probes } = service();
  const t = 1_000_000_000;
  await verify.update('good@example.org', 'ok', '250 2.1.5 Ok', t);
  await verify.update('bad@example.org', 'bounce', 'host x[1.2.3.4] said: 550 5.1.1 no such user (in reply to RCPT TO command)', t);
  assert.deepEqual(await verify.query('good@example.org', t + 1000), { status: 'ok', text: '250 2.1.5 Ok' });
  assert.equal((await verify.query('bad@example.org', t + 1000)).status, 'bounce');
  assert.deepEqual(probes, []);
  // Past the negative refresh time: still answered, and probed again.
  assert.equal((await verify.query('bad@example.org', t + 3 * 3600 * 1000 + 1)).status, 'bounce');
  assert.deepEqual(probes, ['bad@example.org']);
  // Past the positive expiry: no answer any more.
  assert.equal((await verify.query('good@example.org', t + 31 * DAY * 1000 + 1)).status, 'todo');
});

test('a failed probe does not replace a deliverable status that has not expired; negative_cache = no keeps no failure', async () => {
  const { verify } = service();
  const t = 1_000_000_000;
  await verify.update('good@example.org', 'ok', '250 Ok', t);
  await verify.update('good@example.org', 'bounce', 'said: 550', t + 1000);
  assert.equal((await verify.query('good@example.org', t + 2000)).status, 'ok');
  const forgetful = service({ ...PARAMS, address_verify_negative_cache: false });
  await forgetful.verify.update('bad@example.org', 'bounce', 'said: 550', t);
  assert.equal((await forgetful.verify.query('bad@example.org', t + 1000)).status, 'todo');
});

test('cleanup removes expired entries; the LMDB cache keeps entries across openings', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-verify-'));
  try {
    const cache = StatusCache.open(`btree:${join(dir, 'verify_cache')}`);
    const { verify } = service(PARAMS, cache);
    const t = 1_000_000_000;
    await verify.update('old@example.org', 'defer', 'connect to x: Connection refused', t);
    await verify.update('new@example.org', 'ok', '250 Ok', t + 4 * DAY * 1000);
    assert.equal(await verify.cleanup(t + 4 * DAY * 1000), 1);
    assert.deepEqual([...cache.entries()].map(([key]) => key), ['new@example.org']);
    assert.equal(StatusCache.open(`btree:${join(dir, 'verify_cache')}`).get('new@example.org')?.status, 'ok');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stored entries are status:probed:updated:text, the text may hold colons; anything else is no entry', () => {
  assert.deepEqual(decodeEntry('bounce:0:12:host x said: 550 5.1.1: no'), { status: 'bounce', probed: 0, updated: 12, text: 'host x said: 550 5.1.1: no' });
  assert.equal(decodeEntry('maybe:0:12:x'), undefined);
  assert.equal(decodeEntry('ok:x:12:x'), undefined);
  assert.throws(() => StatusCache.open('mysql:/etc/x.cf'), /address_verify_map: unsupported cache/);
});
