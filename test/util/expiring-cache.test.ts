import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExpiringCache } from '../../src/util/expiring-cache.js';

test('a value lives until its own deadline; a life of 0 keeps nothing', async () => {
  const cache = new ExpiringCache<string>(10);
  cache.set('short', 'a', 50);
  cache.set('long', 'b', 60_000);
  cache.set('none', 'c', 0);
  assert.equal(cache.get('short'), 'a');
  assert.equal(cache.get('none'), undefined);
  await sleep(80);
  assert.equal(cache.get('short'), undefined);
  assert.equal(cache.get('long'), 'b');
});

test('beyond the limit the least recently used goes first; forget drops only the value given', () => {
  const cache = new ExpiringCache<string>(2);
  cache.set('a', '1', 60_000);
  cache.set('b', '2', 60_000);
  assert.equal(cache.get('a'), '1');
  cache.set('c', '3', 60_000);
  assert.equal(cache.get('b'), undefined, 'b was the least recently used');
  assert.equal(cache.get('a'), '1');
  cache.forget('a', 'other');
  assert.equal(cache.get('a'), '1');
  cache.forget('a', '1');
  assert.equal(cache.get('a'), undefined);
});
