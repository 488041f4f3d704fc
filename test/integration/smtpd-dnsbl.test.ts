/*
 * smtpd-dnsbl - the DNS list restrictions against the real daemon, with
 * the lists served by a loopback DNS server (dns_servers): reject_rbl_client
 * (IPv4 and IPv6) with and without a matching reply filter,
 * reject_rhsbl_client, _reverse_client, _helo, _sender and _recipient,
 * permit_dnswl_client before a reject (and DEFER_IF_REJECT when it cannot be
 * asked), rbl_reply_maps, a customised default_rbl_reply and
 * maps_rbl_reject_code, a list server that fails (SERVFAIL, no answer)
 * never rejecting, and one question per session however many RCPTs ask.
 * The reject lines are Postfix's, which fail2ban's postfix filter (mode
 * rbl) must match.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startDnsServer, type DnsServer } from '../support/dns-server.js';
import { TestInstance } from '../support/instance.js';
import { needFile } from '../support/need.js';
import { SmtpClient } from '../support/smtp-client.js';

const FAIL2BAN_REGEX = '/usr/bin/fail2ban-regex';
const LISTED = { a: ['127.0.0.2'] };
/** 2001:db8::1 with its nibbles reversed. */
const V6 = `1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2`;
let dns: DnsServer;
let mx: TestInstance;
let custom: TestInstance;

before(async () => {
  dns = await startDnsServer({
    '7.2.0.192.bl.test': { a: ['127.0.0.2'], txt: ['Listed', 'see https://bl.test/?192.0.2.7'] },
    '8.2.0.192.bl.test': { a: ['127.0.0.12'] },
    '14.2.0.192.bl.test': { a: ['127.0.0.14'] },
    '9.2.0.192.bl.test': LISTED,
    '9.2.0.192.wl.test': LISTED,
    '10.2.0.192.bl2.test': { a: ['127.0.0.2'], txt: ['bad $client'] },
    '11.2.0.192.bl.test': { fail: 'servfail' },
    '12.2.0.192.bl.test': { fail: 'timeout' },
    '13.2.0.192.bl.test': LISTED,
    '13.2.0.192.wl.test': { fail: 'servfail' },
    [`${V6}.bl.test`]: LISTED,
    'badhelo.example.rhs.test': LISTED,
    'badsender.example.rhs.test': { a: ['127.0.0.2'], txt: ['sender listed'] },
    'badrcpt.example.rhs.test': LISTED,
    'badclient.example.rhs.test': LISTED,
    'badreverse.example.rhs.test': LISTED,
  });
  const common = { mynetworks: '10.9.9.0/24', smtpd_authorized_xclient_hosts: '127.0.0.1', dns_servers: `127.0.0.1:${dns.port}` };
  mx = await TestInstance.create('', 'postmaster: root\n', {
    ...common,
    smtpd_client_restrictions: 'permit_dnswl_client wl.test, reject_rbl_client bl.test=127.0.0.[2..11;14], reject_rbl_client bl2.test',
    smtpd_helo_restrictions: 'reject_rhsbl_helo rhs.test',
    smtpd_sender_restrictions: 'reject_rhsbl_sender rhs.test',
    smtpd_relay_restrictions: 'reject_rhsbl_client rhs.test, reject_rhsbl_reverse_client rhs.test, reject_rhsbl_recipient rhs.test, reject_unauth_destination',
    rbl_reply_maps: 'texthash:$config_directory/rbl_reply',
  });
  writeFileSync(join(mx.etc, 'rbl_reply'), 'bl2.test 550 5.7.9 Custom: $client_address is in $rbl_domain ($rbl_txt) for <$recipient>\n');
  mx.start();
  custom = await TestInstance.create('', 'postmaster: root\n', {
    ...common,
    smtpd_client_restrictions: 'reject_rbl_client bl.test',
    maps_rbl_reject_code: '550',
    default_rbl_reply: '$rbl_code 4.7.2 Go away $client ($rbl_class $rbl_what in $rbl_domain${rbl_reason?: $rbl_reason}) helo=$helo_name from $sender_name at $sender_domain',
  });
  custom.start();
});

after(() => {
  mx?.remove();
  custom?.remove();
  dns?.close();
});

/** Opens a session as the client XCLIENT names, says EHLO helo and MAIL FROM sender; returns the client. */
async function session(port: number, xclient: string, helo = 'client.example', sender = 's@example.org'): Promise<SmtpClient> {
  const { client } = await SmtpClient.open(port);
  await client.command('EHLO relay.example');
  assert.match(await client.command(`XCLIENT ${xclient}`), /^220 /);
  await client.command(`EHLO ${helo}`);
  assert.match(await client.command(`MAIL FROM:<${sender}>`), /^250 /);
  return client;
}

test('reject_rbl_client: a listed client is refused with the TXT record as reason; the reply filter decides what counts; IPv6 nibbles', async () => {
  let client = await session(mx.port, 'NAME=host.example ADDR=192.0.2.7');
  assert.equal(await client.command('RCPT TO:<root@localhost>'), '554 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using bl.test; Listed / see https://bl.test/?192.0.2.7');
  await client.quit();
  await mx.waitForLog(/NOQUEUE: reject: RCPT from host\.example\[192\.0\.2\.7\]: 554 5\.7\.1 Service unavailable; Client host \[192\.0\.2\.7\] blocked using bl\.test; Listed \/ see https:\/\/bl\.test\/\?192\.0\.2\.7; from=<s@example\.org> to=<root@localhost> proto=ESMTP helo=<client\.example>/);
  // 127.0.0.12 is outside [2..11;14]: not listed for this restriction.
  client = await session(mx.port, 'NAME=host.example ADDR=192.0.2.8');
  assert.match(await client.command('RCPT TO:<root@localhost>'), /^250 /);
  await client.quit();
  client = await session(mx.port, 'NAME=host.example ADDR=192.0.2.14');
  assert.equal(await client.command('RCPT TO:<root@localhost>'), '554 5.7.1 Service unavailable; Client host [192.0.2.14] blocked using bl.test');
  await client.quit();
  client = await session(mx.port, 'NAME=host.example ADDR=IPV6:2001:db8::1');
  assert.equal(await client.command('RCPT TO:<root@localhost>'), '554 5.7.1 Service unavailable; Client host [2001:db8::1] blocked using bl.test');
  await client.quit();
});

test('reject_rhsbl_helo, _sender, _client, _reverse_client and _recipient', async () => {
  let client = await session(mx.port, 'NAME=host.example ADDR=192.0.2.20', 'badhelo.example');
  assert.equal(await client.command('RCPT TO:<root@localhost>'), '554 5.7.1 Service unavailable; Helo command [badhelo.example] blocked using rhs.test');
  await client.quit();
  client = await session(mx.port, 'NAME=host.example ADDR=192.0.2.20', 'client.example', 'x@badsender.example');
  assert.equal(await client.command('RCPT TO:<root@localhost>'), '554 5.7.1 Service unavailable; Sender address [x@badsender.example] blocked using rhs.test; sender listed');
  await client.quit();
  client = await session(mx.port, 'NAME=badclient.example ADDR=192.0.2.20');
  assert.equal(await client.command('RCPT TO:<root@localhost>'), '554 5.7.1 Service unavailable; Client host [badclient.example] blocked using rhs.test');
  await client.quit();
  client = await session(mx.port, 'NAME=host.example REVERSE_NAME=badreverse.example ADDR=192.0.2.20');
  assert.equal(await client.command('RCPT TO:<root@localhost>'), '554 5.7.1 Service unavailable; Unverified Client host [badreverse.example] blocked using rhs.test');
  await client.quit();
  client = await session(mx.port, 'NAME=host.example ADDR=192.0.2.20');
  assert.equal(await client.command('RCPT TO:<u@badrcpt.example>'), '554 5.7.1 Service unavailable; Recipient address [u@badrcpt.example] blocked using rhs.test');
  assert.match(await client.command('RCPT TO:<root@localhost>'), /^250 /);
  // The null sender is not asked about.
  await client.command('RSET');
  assert.match(await client.command('MAIL FROM:<>'), /^250 /);
  assert.match(await client.command('RCPT TO:<root@localhost>'), /^250 /);
  await client.quit();
});

test('permit_dnswl_client permits before a reject, never past reject_unauth_destination, and is asked once per session', async () => {
  const before = dns.queries.filter((q) => q === 'A 9.2.0.192.wl.test').length;
  const client = await session(mx.port, 'NAME=host.example ADDR=192.0.2.9');
  assert.match(await client.command('RCPT TO:<root@localhost>'), /^250 /);
  // The block list after the allow list (one run of DNS lists) was asked at the same time, not after the answer.
  assert.equal(dns.queries.filter((q) => q === 'A 9.2.0.192.bl.test').length, 1);
  assert.match(await client.command('RCPT TO:<postmaster@localhost>'), /^250 /);
  // Listed in both: the allow list is ignored for a recipient this host would not take, so the block list refuses (as Postfix does).
  assert.equal(await client.command('RCPT TO:<u@far.example>'), '554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using bl.test');
  await client.quit();
  // Three RCPTs, one question to each list.
  assert.equal(dns.queries.filter((q) => q === 'A 9.2.0.192.wl.test').length - before, 1);
  assert.equal(dns.queries.filter((q) => q === 'A 9.2.0.192.bl.test').length, 1);
});

test('rbl_reply_maps overrides default_rbl_reply for its list, with one level of expansion', async () => {
  const client = await session(mx.port, 'NAME=host.example ADDR=192.0.2.10');
  assert.equal(await client.command('RCPT TO:<root@localhost>'), '550 5.7.9 Custom: 192.0.2.10 is in bl2.test (bad $client) for <root@localhost>');
  await client.quit();
});

test('a customised default_rbl_reply and maps_rbl_reject_code (the enhanced code follows the reply code)', async () => {
  const client = await session(custom.port, 'NAME=host.example ADDR=192.0.2.7');
  assert.equal(await client.command('RCPT TO:<root@localhost>'), '550 5.7.2 Go away host.example[192.0.2.7] (Client host 192.0.2.7 in bl.test: Listed / see https://bl.test/?192.0.2.7) helo=client.example from s at example.org');
  await client.quit();
});

test('a list server that fails (SERVFAIL, or no answer) never rejects; a failed allow list defers what would be rejected', async () => {
  let client = await session(mx.port, 'NAME=host.example ADDR=192.0.2.11');
  assert.match(await client.command('RCPT TO:<root@localhost>'), /^250 /);
  await client.quit();
  await mx.waitForLog(/warning: 11\.2\.0\.192\.bl\.test: RBL lookup error: Host or domain name not found\. Name service error for name=11\.2\.0\.192\.bl\.test type=A: Host not found, try again/);
  client = await session(mx.port, 'NAME=host.example ADDR=192.0.2.13');
  assert.equal(await client.command('RCPT TO:<root@localhost>'), '450 4.7.1 <192.0.2.13>: Client host rejected: Service unavailable');
  await client.quit();
  // A list server that never answers: the resolver gives up and the client is not listed.
  client = await session(mx.port, 'NAME=host.example ADDR=192.0.2.12');
  assert.match(await client.command('RCPT TO:<root@localhost>'), /^250 /);
  await client.quit();
  await mx.waitForLog(/warning: 12\.2\.0\.192\.bl\.test: RBL lookup error: /);
});

test("fail2ban's postfix filter matches the RBL reject line (modes rbl, normal, more, aggressive)", { skip: needFile(FAIL2BAN_REGEX, "fail2ban's postfix filter reads the log") }, async () => {
  const lines = mx.logText().split('\n').filter((l) => /: reject: RCPT from .*: 554 5\.7\.1 Service unavailable; Client host \[/.test(l));
  assert.ok(lines.length >= 3, mx.logText());
  const file = join(mx.root, 'rbl.log');
  writeFileSync(file, `${lines.join('\n')}\n`);
  for (const mode of ['rbl', 'normal', 'more', 'aggressive']) {
    const result = spawnSync(FAIL2BAN_REGEX, [file, `postfix[mode=${mode}]`], { encoding: 'utf8' });
    assert.match(result.stdout, new RegExp(`Lines: ${lines.length} lines, 0 ignored, ${lines.length} matched`), `${mode}: ${result.stdout}`);
  }
});
