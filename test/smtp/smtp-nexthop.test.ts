import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/global/config/load-config.js';
import { NextHopError, NextHopResolver, parseLmtpNextHop, parseNextHop } from '../../src/smtp/smtp-nexthop.js';
import { replyDsn } from '../../src/smtp/smtp-session.js';
import { parseTlsPolicy } from '../../src/smtp/smtp-tls-policy.js';

test('next hops: [host] and [host]:port skip MX lookups, domain and domain:port use them, service names are ports', () => {
  assert.deepEqual(parseNextHop('example.com', 25), { host: 'example.com', port: 25, mx: true });
  assert.deepEqual(parseNextHop('example.com:2525', 25), { host: 'example.com', port: 2525, mx: true });
  assert.deepEqual(parseNextHop('[mail.example.com]', 25), { host: 'mail.example.com', port: 25, mx: false });
  assert.deepEqual(parseNextHop('[mail.example.com]:submission', 25), { host: 'mail.example.com', port: 587, mx: false });
  assert.deepEqual(parseNextHop('[192.0.2.1]:26', 25), { host: '192.0.2.1', port: 26, mx: false });
  assert.deepEqual(parseNextHop('[ipv6:2001:db8::1]', 25), { host: '2001:db8::1', port: 25, mx: false });
  assert.deepEqual(parseNextHop('192.0.2.7', 25), { host: '192.0.2.7', port: 25, mx: false });
  assert.throws(() => parseNextHop('example.com:99999', 25), NextHopError);
});

test('an LMTP socket path relative to queue_directory (lmtp:unix:private/dovecot-lmtp) is reached there and logged as written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-nexthop-'));
  writeFileSync(join(dir, 'main.cf'), '');
  const params = loadConfig({ configDir: dir, overrides: { queue_directory: '/var/spool/petrel', myhostname: 'mx.example.com' } }).params;
  const resolver = new NextHopResolver(params);
  assert.deepEqual(await resolver.targets(parseLmtpNextHop('unix:private/dovecot-lmtp', 24)), [
    { hostname: 'mx.example.com', address: 'private/dovecot-lmtp', port: 0, path: '/var/spool/petrel/private/dovecot-lmtp' },
  ]);
  assert.deepEqual(await resolver.targets(parseLmtpNextHop('unix:/run/dovecot/lmtp', 24)), [{ hostname: 'mx.example.com', address: '/run/dovecot/lmtp', port: 0, path: '/run/dovecot/lmtp' }]);
});

test('the DSN code of a reply is its enhanced status code when it has one of the same class', () => {
  assert.equal(replyDsn('550 5.1.1 <a@b>: User unknown', 550), '5.1.1');
  assert.equal(replyDsn('451 Try later', 451), '4.0.0');
  assert.equal(replyDsn('250 2.0.0 Ok: queued as X', 250), '2.0.0');
  assert.equal(replyDsn('550 4.2.0 odd', 550), '5.0.0');
});

test('TLS policies: a level and protocols=; anything else is reported as unsupported', () => {
  assert.deepEqual(parseTlsPolicy('encrypt'), { level: 'encrypt' });
  assert.deepEqual(parseTlsPolicy('verify protocols=>=TLSv1.2'), { level: 'verify', protocols: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' } });
  assert.deepEqual(parseTlsPolicy('may protocols=!SSLv3:!TLSv1:!TLSv1.1'), { level: 'may', protocols: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' } });
  assert.deepEqual(parseTlsPolicy('encrypt protocols=TLSv1.2'), { level: 'encrypt', protocols: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } });
  assert.deepEqual(parseTlsPolicy('encrypt protocols=!TLSv1.2:!TLSv1.3:!TLSv1:!TLSv1.1'), { unsupported: 'TLS policy "protocols=!TLSv1.2:!TLSv1.3:!TLSv1:!TLSv1.1" (protocols: no TLS protocol version is left enabled)' });
  assert.deepEqual(parseTlsPolicy('dane'), { unsupported: 'TLS security level "dane"' });
  assert.deepEqual(parseTlsPolicy('secure match=.example.com'), { unsupported: 'TLS policy attribute "match=.example.com"' });
});
