import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClientNameResolver } from '../../src/smtpd/smtpd-client-name.js';

test('the names of 127.0.0.1 are looked up through the system resolver and forward-confirmed', async () => {
  const names = await new ClientNameResolver(0).names('127.0.0.1');
  assert.equal(names.nameTempFail, false);
  assert.notEqual(names.reverseName, 'unknown', 'a loopback address has a name in /etc/hosts');
  assert.equal(names.name, names.reverseName);
});

test('an answer is reused for petrel_client_name_cache_time, then looked up again; 0 keeps nothing', async () => {
  const cached = new ClientNameResolver(0.2);
  const first = await cached.names('127.0.0.1');
  assert.equal(await cached.names('127.0.0.1'), first, 'the second connection reuses the answer');
  await sleep(300);
  assert.notEqual(await cached.names('127.0.0.1'), first, 'an expired answer is asked again');
  const uncached = new ClientNameResolver(0);
  assert.notEqual(await uncached.names('127.0.0.1'), await uncached.names('127.0.0.1'));
});

test('an address without a name is "unknown", and that answer is kept too', async () => {
  const resolver = new ClientNameResolver(10);
  // 192.0.2.0/24 is TEST-NET-1: no PTR anywhere (and no DNS beyond loopback here): getnameinfo gives the address back.
  const names = await resolver.names('192.0.2.77');
  assert.deepEqual(names, { name: 'unknown', reverseName: 'unknown', nameTempFail: false });
  assert.equal(await resolver.names('192.0.2.77'), names);
});
