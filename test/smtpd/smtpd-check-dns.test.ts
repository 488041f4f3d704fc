import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CheckDns } from '../../src/smtpd/smtpd-check-dns.js';
import { startDnsServer, type DnsServer } from '../support/dns-server.js';

let dns: DnsServer;
before(async () => {
  dns = await startDnsServer({
    'listed.example': { a: ['127.0.0.2'] },
    'short.example': { a: ['192.0.2.1'], ttl: 1 },
    'mail.example': { mx: [{ preference: 10, exchange: 'mx.mail.example' }] },
    'broken.example': { fail: 'servfail' },
  });
});
after(() => dns.close());

/** How many questions the server got for name. */
function asked(name: string): number {
  return dns.queries.filter((q) => q.endsWith(` ${name}`)).length;
}

test('petrel_dns_cache_time: an answer, found or not, is asked once and then reused', async () => {
  const checks = new CheckDns([`127.0.0.1:${dns.port}`], 60);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await checks.a('listed.example'), { status: 'found', value: ['127.0.0.2'] });
    assert.deepEqual(await checks.a('absent.example'), { status: 'none' });
    assert.deepEqual(await checks.mxHosts('mail.example'), { status: 'found', value: ['mx.mail.example'] });
  }
  assert.equal(asked('listed.example'), 1);
  assert.equal(asked('absent.example'), 1);
  assert.equal(asked('mail.example'), 1);
});

test('an A answer lives no longer than its TTL; a temporary failure is asked again; 0 keeps nothing', async () => {
  const checks = new CheckDns([`127.0.0.1:${dns.port}`], 60);
  await checks.a('short.example');
  await checks.a('short.example');
  assert.equal(asked('short.example'), 1);
  await sleep(1100);
  await checks.a('short.example');
  assert.equal(asked('short.example'), 2, 'the 1 s TTL bounds the cache');
  assert.equal((await checks.a('broken.example')).status, 'temporary');
  assert.equal((await checks.a('broken.example')).status, 'temporary');
  assert.ok(asked('broken.example') >= 2, 'a SERVFAIL is never kept');
  const uncached = new CheckDns([`127.0.0.1:${dns.port}`], 0);
  const before = asked('listed.example');
  await uncached.a('listed.example');
  await uncached.a('listed.example');
  assert.equal(asked('listed.example'), before + 2);
});
