/*
 * anvil-redis - client limits shared through Redis (petrel_anvil_redis_server):
 * two Petrel instances on one host, each listening on its own loopback
 * address with the same master.cf service name, enforce one connection
 * rate limit and one connection count limit together; when Redis stops
 * answering, an instance falls back to its own counts (still enforcing
 * the limit per host) with one warning, and says when Redis is back. Each
 * test run uses its own key prefix in the real Redis.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { forwarder, needRedis, REDIS_PORT } from '../global/tables/table-servers.js';
import { freePort, TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';

const skip = await needRedis('anvil shares its counts in the real Redis');
const prefix = `petrel-test:${randomBytes(6).toString('hex')}:`;
let rateService: number;
let countService: number;
const cluster: TestInstance[] = [];

/** An instance on address whose smtpd services are named by port only, so that every instance counts under the same names. */
async function member(address: string, settings: Record<string, string>): Promise<TestInstance> {
  const instance = await TestInstance.create('', 'postmaster: root\n', { inet_interfaces: address, smtpd_client_event_limit_exceptions: '', ...settings });
  const masterCf = join(instance.etc, 'master.cf');
  const services = [`${rateService} inet n - n - - smtpd -o smtpd_client_connection_rate_limit=3`, `${countService} inet n - n - - smtpd -o smtpd_client_connection_count_limit=2`];
  writeFileSync(masterCf, [...services, ...readFileSync(masterCf, 'utf8').split('\n').slice(1)].join('\n'));
  instance.start();
  return instance;
}

/** The greeting of a new connection to address:port, the connection closed at once. */
async function greeting(port: number, address: string): Promise<string> {
  const { client, greeting: text } = await SmtpClient.openWhenListening(port, address);
  await client.quit();
  return text;
}

before(async () => {
  if (skip !== false) return;
  rateService = await freePort();
  countService = await freePort();
  for (const address of ['127.0.0.2', '127.0.0.3']) cluster.push(await member(address, { petrel_anvil_redis_server: `127.0.0.1:${REDIS_PORT}`, petrel_anvil_redis_key_prefix: prefix }));
});

after(() => {
  for (const instance of cluster) instance.remove();
});

test('two instances sharing a Redis enforce one connection rate limit and one connection count limit together', { skip }, async () => {
  const [a, b] = cluster as [TestInstance, TestInstance];
  assert.match(await greeting(rateService, '127.0.0.2'), /^220 /);
  assert.match(await greeting(rateService, '127.0.0.3'), /^220 /);
  assert.match(await greeting(rateService, '127.0.0.2'), /^220 /);
  assert.equal(await greeting(rateService, '127.0.0.3'), '421 4.7.0 mx.test.example Error: too many connections from 127.0.0.1');
  await b.waitForLog(new RegExp(`warning: Connection rate limit exceeded: 4 from localhost\\[127\\.0\\.0\\.1\\] for service ${rateService}\\n`));
  const held = [await SmtpClient.openWhenListening(countService, '127.0.0.2'), await SmtpClient.openWhenListening(countService, '127.0.0.3')];
  for (const { greeting: text } of held) assert.match(text, /^220 /);
  assert.equal(await greeting(countService, '127.0.0.2'), '421 4.7.0 mx.test.example Error: too many connections from 127.0.0.1');
  await a.waitForLog(new RegExp(`warning: Connection concurrency limit exceeded: 3 from localhost\\[127\\.0\\.0\\.1\\] for service ${countService}\\n`));
  for (const { client } of held) await client.quit();
});

test('Redis stopped: the limit holds per host, one warning says so, and one line says when Redis answers again', { skip }, async () => {
  const redis = await forwarder(REDIS_PORT).listen();
  const alone = await member('127.0.0.4', { petrel_anvil_redis_server: `127.0.0.1:${redis.port}`, petrel_anvil_redis_key_prefix: `${prefix}alone:` });
  try {
    assert.match(await greeting(rateService, '127.0.0.4'), /^220 /);
    await redis.stop();
    assert.match(await greeting(rateService, '127.0.0.4'), /^220 /);
    assert.match(await greeting(rateService, '127.0.0.4'), /^220 /);
    assert.equal(await greeting(rateService, '127.0.0.4'), '421 4.7.0 mx.test.example Error: too many connections from 127.0.0.1');
    const log = await alone.waitForLog(/warning: Connection rate limit exceeded: 4 from /);
    const warnings = log.match(new RegExp(`anvil\\[\\d+\\]: warning: Redis server 127\\.0\\.0\\.1:${redis.port} for shared client counts: .*; counting on this host only until it answers\\n`, 'g')) ?? [];
    assert.equal(warnings.length, 1, log);
    await redis.listen();
    await alone.waitForLog(new RegExp(`anvil\\[\\d+\\]: Redis server 127\\.0\\.0\\.1:${redis.port} for shared client counts answers again: client counts are shared again\\n`));
  } finally {
    alone.remove();
  }
});
