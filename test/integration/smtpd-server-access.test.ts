/*
 * smtpd-server-access - the restrictions that look at what the DNS says
 * about the client's names, the HELO name and the recipient's domain:
 * check_client_{a,mx,ns}_access, check_reverse_client_{a,mx,ns}_access,
 * check_helo_ns_access and check_recipient_a_access, against a loopback
 * DNS server (dns_servers); and permit_inet_interfaces. The client's names
 * are set with XCLIENT, as a proxy in front of smtpd would.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startDnsServer, type DnsServer } from '../support/dns-server.js';
import { TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';

let dns: DnsServer;
let mx: TestInstance;

before(async () => {
  dns = await startDnsServer({
    'a.client.example': { a: ['192.0.2.66'] },
    'mx.client.example': { mx: [{ preference: 10, exchange: 'mxhost.bad.example' }] },
    'ns.client.example': { ns: ['ns1.bad.example'] },
    'r.client.example': { a: ['192.0.2.77'] },
    'clean.client.example': { a: ['198.51.100.9'], mx: [{ preference: 10, exchange: 'mx.good.example' }], ns: ['ns.good.example'] },
    'ns.helo.example': { ns: ['ns1.bad.example'] },
    'a.rcpt.example': { a: ['192.0.2.66'] },
  });
  mx = await TestInstance.create('', 'postmaster: root\n', {
    dns_servers: `127.0.0.1:${dns.port}`,
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.2/32',
    smtpd_authorized_xclient_hosts: '127.0.0.0/8',
    relay_domains: 'a.rcpt.example',
    smtpd_relay_restrictions: 'permit_inet_interfaces, reject_unauth_destination',
  });
  const tables = { addresses: '192.0.2.66 REJECT listed address\n192.0.2.77 REJECT listed reverse address\n', hosts: 'mxhost.bad.example REJECT bad mx\nns1.bad.example REJECT bad ns\n' };
  for (const [name, text] of Object.entries(tables)) writeFileSync(join(mx.etc, name), text);
  const t = (name: string): string => `texthash:${join(mx.etc, name)}`;
  const restrictions = [
    `check_client_a_access ${t('addresses')}`,
    `check_client_mx_access ${t('hosts')}`,
    `check_client_ns_access ${t('hosts')}`,
    `check_reverse_client_a_access ${t('addresses')}`,
    `check_helo_ns_access ${t('hosts')}`,
    `check_recipient_a_access ${t('addresses')}`,
  ];
  assert.equal(mx.run('postconf', ['-e', `smtpd_recipient_restrictions = ${restrictions.join(', ')}`]).status, 0);
  mx.start();
});

after(() => {
  mx?.remove();
  dns?.close();
});

/** The reply to RCPT TO:<rcpt> from a client XCLIENT names (attributes as XCLIENT takes them), after EHLO helo. */
async function rcptAs(xclient: string, rcpt: string, helo = 'client.example'): Promise<string> {
  const { client } = await SmtpClient.open(mx.port);
  try {
    await client.command('EHLO proxy.example');
    if (xclient !== '') assert.match(await client.command(`XCLIENT ${xclient}`), /^220 /);
    await client.command(`EHLO ${helo}`);
    await client.command('MAIL FROM:<s@example.org>');
    return await client.command(`RCPT TO:<${rcpt}>`);
  } finally {
    await client.quit();
  }
}

test('the client name\'s addresses, MX hosts and name servers, and the reverse name\'s addresses, are looked up in access tables', async () => {
  assert.equal(await rcptAs('NAME=a.client.example REVERSE_NAME=a.client.example ADDR=198.51.100.1', 'root@localhost'), '554 5.7.1 <a.client.example[198.51.100.1]>: Client host rejected: listed address');
  assert.equal(await rcptAs('NAME=mx.client.example REVERSE_NAME=mx.client.example ADDR=198.51.100.1', 'root@localhost'), '554 5.7.1 <mx.client.example[198.51.100.1]>: Client host rejected: bad mx');
  assert.equal(await rcptAs('NAME=ns.client.example REVERSE_NAME=ns.client.example ADDR=198.51.100.1', 'root@localhost'), '554 5.7.1 <ns.client.example[198.51.100.1]>: Client host rejected: bad ns');
  assert.equal(await rcptAs('NAME=[UNAVAILABLE] REVERSE_NAME=r.client.example ADDR=198.51.100.1', 'root@localhost'), '554 5.7.1 <unknown[198.51.100.1]>: Client host rejected: listed reverse address');
  assert.match(await rcptAs('NAME=clean.client.example REVERSE_NAME=clean.client.example ADDR=198.51.100.1', 'root@localhost'), /^250 /);
});

test('check_helo_ns_access and check_recipient_a_access', async () => {
  assert.equal(await rcptAs('NAME=clean.client.example REVERSE_NAME=clean.client.example ADDR=198.51.100.1', 'root@localhost', 'ns.helo.example'), '554 5.7.1 <ns.helo.example>: Helo command rejected: bad ns');
  assert.equal(await rcptAs('NAME=clean.client.example REVERSE_NAME=clean.client.example ADDR=198.51.100.1', 'user@a.rcpt.example'), '554 5.7.1 <user@a.rcpt.example>: Recipient address rejected: listed address');
});

test('permit_inet_interfaces permits a client on one of inet_interfaces, and only it', async () => {
  assert.match(await rcptAs('', 'someone@far.example'), /^250 /);
  assert.match(await rcptAs('NAME=clean.client.example REVERSE_NAME=clean.client.example ADDR=198.51.100.1', 'someone@far.example'), /^554 5\.7\.1 <someone@far\.example>: Relay access denied/);
});
