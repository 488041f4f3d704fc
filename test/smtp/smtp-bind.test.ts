/*
 * Tests of smtp-bind: the SMTP client's source addresses from
 * smtp_bind_address(6), or the one non-loopback address of each family in
 * inet_interfaces, read from main.cf.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/global/config/load-config.js';
import { sourceAddresses, sourceFor } from '../../src/smtp/smtp-bind.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-smtp-bind-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function sources(lmtp: boolean, ...lines: string[]): ReturnType<typeof sourceAddresses> {
  writeFileSync(join(dir, 'main.cf'), [...lines, ''].join('\n'));
  return sourceAddresses(loadConfig({ configDir: dir }).params, lmtp);
}

test('smtp_bind_address and smtp_bind_address6 by the server address family; lmtp_ twins for LMTP', () => {
  const s = sources(false, 'smtp_bind_address = 192.0.2.7', 'smtp_bind_address6 = 2001:db8::7', 'smtp_bind_address_enforce = yes');
  assert.deepEqual(s, { v4: '192.0.2.7', v6: '2001:db8::7', enforce: true });
  assert.equal(sourceFor(s, '198.51.100.1'), '192.0.2.7');
  assert.equal(sourceFor(s, '2001:db8::1'), '2001:db8::7');
  assert.deepEqual(sources(true, 'smtp_bind_address = 192.0.2.7', 'lmtp_bind_address = 192.0.2.8'), { v4: '192.0.2.8', enforce: false });
});

test('unset: the address of a family when inet_interfaces names exactly one and it is not a loopback address, else any address', () => {
  assert.deepEqual(sources(false, 'inet_interfaces = 192.0.2.7, [2001:db8::7]'), { v4: '192.0.2.7', v6: '2001:db8::7', enforce: false });
  assert.deepEqual(sources(false, 'inet_interfaces = 192.0.2.7, 192.0.2.8'), { enforce: false });
  assert.deepEqual(sources(false, 'inet_interfaces = 192.0.2.7, 127.0.0.1, [2001:db8::7]'), { v6: '2001:db8::7', enforce: false });
  assert.deepEqual(sources(false, 'inet_interfaces = 127.0.0.1'), { enforce: false });
  assert.deepEqual(sources(false, 'inet_interfaces = all'), { enforce: false });
  assert.deepEqual(sources(false, 'inet_interfaces = 192.0.2.7', 'smtp_bind_address = 192.0.2.9'), { v4: '192.0.2.9', enforce: false });
});

test('a value that is not an address of its family is a configuration error', () => {
  assert.throws(() => sources(false, 'smtp_bind_address = 2001:db8::7'), /smtp_bind_address: "2001:db8::7" is not an IPv4 address/);
  assert.throws(() => sources(true, 'lmtp_bind_address6 = mail.example.com'), /lmtp_bind_address6: "mail\.example\.com" is not an IPv6 address/);
});
