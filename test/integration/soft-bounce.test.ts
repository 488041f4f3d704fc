/*
 * soft_bounce end to end: with it on, smtpd answers (and logs) 4xx where it
 * would answer 5xx, and every recipient qmgr
 * or a delivery agent would bounce stays queued, logged status=SOFTBOUNCE
 * with a 4.X.Y status code, with no non-delivery notice. Each process acts
 * on its own setting: an smtpd with "-o soft_bounce=no" still refuses 5xx.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp-peer.js';
import { waitFor } from '../support/wait.js';

let mx: TestInstance;
let peer: SmtpPeer;
let strictPort: number;

before(async () => {
  const peerPort = await freePort();
  strictPort = await freePort();
  peer = await startSmtpPeer('127.0.0.1', peerPort, { startTls: false });
  mx = await TestInstance.create('', 'postmaster: root\n', {
    soft_bounce: 'yes',
    smtpd_recipient_restrictions: 'check_recipient_access inline:{ blocked@localhost=REJECT }, check_recipient_access inline:{ gone.example=reject_unverified_recipient }, permit_mynetworks, reject',
    transport_maps: `inline:{ {gone.example=error:5.1.1 mailbox gone}, {hard.example=harderror:5.1.1 really gone}, peer.example=smtp:[127.0.0.1]:${peerPort} }`,
  });
  appendFileSync(join(mx.etc, 'master.cf'), ['smtp unix - - n - - smtp', 'error unix - - n - - error', 'harderror unix - - n - - error -o soft_bounce=no', `127.0.0.1:${strictPort} inet n - n - - smtpd -o soft_bounce=no`, ''].join('\n'));
  mx.start();
});

after(async () => {
  mx.remove();
  await peer.close();
});

/** The reply to RCPT TO for recipient on a new session to port. */
async function rcptReply(port: number, recipient: string): Promise<string> {
  const { client } = await SmtpClient.open(port);
  await client.command('EHLO client.example');
  await client.command('MAIL FROM:<sender@example.org>');
  const reply = await client.command(`RCPT TO:<${recipient}>`);
  await client.quit();
  return reply.trim();
}

test('smtpd answers and logs 454 4.7.1 where it would answer 554 5.7.1; an smtpd with -o soft_bounce=no answers 554', async () => {
  assert.equal(await rcptReply(mx.port, 'blocked@localhost'), '454 4.7.1 <blocked@localhost>: Recipient address rejected: Access denied');
  await mx.waitForLog(/NOQUEUE: reject: RCPT from [^:]+: 454 4\.7\.1 <blocked@localhost>: Recipient address rejected: Access denied;/);
  assert.equal(await rcptReply(strictPort, 'blocked@localhost'), '554 5.7.1 <blocked@localhost>: Recipient address rejected: Access denied');
});

test('a recipient the error transport would bounce stays queued: status=SOFTBOUNCE, dsn 4.1.1, no notice to the sender', async () => {
  assert.equal(mx.run('sendmail', ['-f', 'alice@localhost', 'someone@gone.example'], 'Subject: to a gone mailbox\n\nbody\n').status, 0);
  const line = await mx.waitForLog(/([0-9A-Z]+): to=<someone@gone\.example>, relay=none, .*dsn=4\.1\.1, status=SOFTBOUNCE \(mailbox gone\)/);
  const id = /([0-9A-Z]+): to=<someone@gone\.example>/.exec(line.split('\n').find((l) => l.includes('status=SOFTBOUNCE')) ?? '')?.[1] as string;
  await waitFor(() => mx.queued('deferred').includes(id), 'the message in deferred/');
  assert.doesNotMatch(mx.logText(), new RegExp(`${id}: (sender non-delivery notification|removed)`));
  assert.equal(mx.maildir('alice').length, 0);
});

test("a 550 from the next SMTP server is kept queued too: status=SOFTBOUNCE with the server's words", async () => {
  assert.equal(mx.run('sendmail', ['-f', 'alice@localhost', 'perm-user@peer.example'], 'Subject: refused downstream\n\nbody\n').status, 0);
  await mx.waitForLog(/to=<perm-user@peer\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*dsn=4\.1\.1, status=SOFTBOUNCE \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 <perm-user@peer\.example>: Recipient address rejected: User unknown \(in reply to RCPT TO command\)\)/);
  assert.doesNotMatch(mx.logText(), /sender non-delivery notification/);
});

test('a bounce of the local agent (a Delivered-To loop) is kept queued too', async () => {
  assert.equal(mx.run('sendmail', ['-f', 'alice@localhost', 'carol@localhost'], 'Delivered-To: carol@localhost\nSubject: looped\n\nbody\n').status, 0);
  await mx.waitForLog(/to=<carol@localhost>, relay=local, .*dsn=4\.4\.6, status=SOFTBOUNCE \(mail forwarding loop for carol@localhost\)/);
});

test('an address verification probe is not soft-bounced: the address stays undeliverable, the reply only 4xx', async () => {
  let reply = '';
  for (let i = 0; i < 40 && !/undeliverable address/.test(reply); i++) {
    reply = await rcptReply(mx.port, 'probed@gone.example');
    if (!/undeliverable address/.test(reply)) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.equal(reply, '450 4.1.1 <probed@gone.example>: Recipient address rejected: undeliverable address: mailbox gone');
});

test('an error transport whose master.cf line says -o soft_bounce=no bounces, the global setting notwithstanding', async () => {
  assert.equal(mx.run('sendmail', ['-f', 'alice@localhost', 'someone@hard.example'], 'Subject: really gone\n\nbody\n').status, 0);
  await mx.waitForLog(/to=<someone@hard\.example>, relay=none, .*dsn=5\.1\.1, status=bounced \(really gone\)/);
});
