/*
 * Address verification end to end: a Petrel MX with
 * reject_unverified_recipient in front of a downstream SMTP server (the
 * test peer: "perm..." local parts are refused with 550, others taken),
 * and reject_unverified_sender against a hosted virtual domain. The real
 * verify service sends probes through cleanup and qmgr to the smtp and
 * virtual agents, which only look; the cache answers repeated queries.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp-peer.js';
import { waitFor } from '../support/wait.js';

let mx: TestInstance;
let peer: SmtpPeer;
/** An smtpd that polls the verify service long enough for a probe to finish. */
let patientPort: number;
/** An smtpd whose verify service does not exist. */
let brokenPort: number;

before(async () => {
  const peerPort = await freePort();
  patientPort = await freePort();
  brokenPort = await freePort();
  peer = await startSmtpPeer('127.0.0.1', peerPort, { startTls: false });
  mx = await TestInstance.create('', 'postmaster: root\n', {
    relay_domains: 'dest.example',
    transport_maps: `inline:{ dest.example=smtp:[127.0.0.1]:${peerPort} }`,
    virtual_alias_maps: 'inline:{ info@dest.example=perm-info@dest.example }',
    virtual_mailbox_domains: 'virt.example',
    virtual_mailbox_base: '$data_directory',
    virtual_mailbox_maps: 'inline:{ known@virt.example=virt/known/ }',
    virtual_uid_maps: 'static:5000',
    virtual_gid_maps: 'static:5000',
    smtpd_sender_restrictions: 'check_sender_access inline:{ alice@localhost=OK }, reject_unverified_sender',
    smtpd_recipient_restrictions: 'reject_unauth_destination, reject_unverified_recipient',
    unverified_recipient_reject_code: '550',
    address_verify_poll_count: '1',
  });
  appendFileSync(
    join(mx.etc, 'master.cf'),
    [
      'smtp unix - - n - - smtp',
      'virtual unix - n n - - virtual',
      `127.0.0.1:${patientPort} inet n - n - - smtpd -o address_verify_poll_count=20 -o address_verify_poll_delay=1s`,
      `127.0.0.1:${brokenPort} inet n - n - - smtpd -o address_verify_service_name=noverify`,
      '',
    ].join('\n'),
  );
  mx.start();
});

after(async () => {
  mx.remove();
  await peer.close();
});

/** The replies to MAIL FROM and RCPT TO on a new session to port. */
async function rcpt(port: number, sender: string, recipient: string): Promise<{ mail: string; rcpt: string }> {
  const { client } = await SmtpClient.open(port);
  await client.command('EHLO client.example');
  const mail = await client.command(`MAIL FROM:<${sender}>`);
  const reply = mail.startsWith('250') ? await client.command(`RCPT TO:<${recipient}>`) : '';
  await client.quit();
  return { mail: mail.trim(), rcpt: reply.trim() };
}

const probesAtPeer = (address: string): number => peer.rcpts.filter((r) => r.address === address).length;

test('a recipient nobody verified yet gets 450 while the probe runs, then the cache says deliverable and it is accepted without another probe', async () => {
  const first = await rcpt(mx.port, 'alice@localhost', 'bob@dest.example');
  assert.equal(first.rcpt, '450 4.1.1 <bob@dest.example>: Recipient address rejected: unverified address: Address verification in progress');
  await mx.waitForLog(/NOQUEUE: reject: RCPT from [^\s\[]+\[127\.0\.0\.1\]: 450 4\.1\.1 <bob@dest\.example>: Recipient address rejected: unverified address: Address verification in progress; from=<alice@localhost> to=<bob@dest\.example> proto=ESMTP helo=<client\.example>/);
  const probe = /(\w+): address verification probe for <bob@dest\.example>/.exec(await mx.waitForLog(/\w+: address verification probe for <bob@dest\.example>/))?.[1] as string;
  await mx.waitForLog(new RegExp(`${probe}: removed`));
  await mx.waitForLog(/: to=<bob@dest\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, delay=[\d.]+, delays=[\d./]+, dsn=2\.\d\.\d, status=deliverable \(250 /);
  assert.equal(probesAtPeer('bob@dest.example'), 1);
  const second = await rcpt(mx.port, 'alice@localhost', 'bob@dest.example');
  assert.match(second.rcpt, /^250 /);
  const third = await rcpt(mx.port, 'alice@localhost', 'bob@dest.example');
  assert.match(third.rcpt, /^250 /);
  assert.equal(probesAtPeer('bob@dest.example'), 1, 'the cache answered: no new probe reached the peer');
  assert.equal(mx.logText().match(/address verification probe for <bob@dest\.example>/g)?.length, 1);
});

test('an unknown recipient is refused with unverified_recipient_reject_code and the downstream reply; polling gives the answer in the same RCPT', async () => {
  const first = await rcpt(patientPort, 'alice@localhost', 'perm-nobody@dest.example');
  assert.match(
    first.rcpt,
    /^550 5\.1\.1 <perm-nobody@dest\.example>: Recipient address rejected: undeliverable address: host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 <perm-nobody@dest\.example>: Recipient address rejected: User unknown \(in reply to RCPT TO command\)$/,
  );
  await mx.waitForLog(/: to=<perm-nobody@dest\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*dsn=5\.1\.1, status=undeliverable \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 /);
  const again = await rcpt(mx.port, 'alice@localhost', 'perm-nobody@dest.example');
  assert.match(again.rcpt, /^550 5\.1\.1 <perm-nobody@dest\.example>: Recipient address rejected: undeliverable address: host /);
  assert.equal(probesAtPeer('perm-nobody@dest.example'), 1, 'the negative answer came from the cache');
});

test('a probe follows the real route: an address virtual aliasing rewrites is verified where it leads, and answered under its own name', async () => {
  const reply = await rcpt(patientPort, 'alice@localhost', 'info@dest.example');
  assert.match(reply.rcpt, /^550 5\.1\.1 <info@dest\.example>: Recipient address rejected: undeliverable address: host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 <perm-info@dest\.example>: /);
  await mx.waitForLog(/: to=<perm-info@dest\.example>, orig_to=<info@dest\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=undeliverable/);
  assert.equal(probesAtPeer('info@dest.example'), 0);
  assert.equal(probesAtPeer('perm-info@dest.example'), 1);
});

test('reject_unverified_sender refuses a sender the hosted virtual domain does not know, and takes a known one', async () => {
  const unknown = await rcpt(patientPort, 'ghost@virt.example', 'bob@dest.example');
  assert.match(unknown.rcpt, /^450 4\.1\.7 <ghost@virt\.example>: Sender address rejected: undeliverable address: unknown user: "ghost@virt\.example"$/);
  await mx.waitForLog(/: to=<ghost@virt\.example>, relay=virtual, .*dsn=5\.1\.1, status=undeliverable \(unknown user: "ghost@virt\.example"\)/);
  const known = await rcpt(patientPort, 'known@virt.example', 'bob@dest.example');
  assert.match(known.rcpt, /^250 /);
  await mx.waitForLog(/: to=<known@virt\.example>, relay=virtual, .*status=deliverable \(delivers to maildir\)/);
  assert.equal(existsSync(join(mx.root, 'data', 'virt')), false, 'the probe wrote no mailbox');
});

test('an unreachable verify service is a temporary 450, never a pass', async () => {
  const reply = await rcpt(brokenPort, 'alice@localhost', 'carol@dest.example');
  assert.equal(reply.rcpt, '450 4.1.1 <carol@dest.example>: Recipient address rejected: address verification problem');
  await mx.waitForLog(/warning: noverify service failure: /);
});

test('probes leave no mail: nothing reached the peer with DATA, nothing stays queued, mailq shows nothing', async () => {
  await waitFor(() => ['incoming', 'active', 'deferred', 'hold'].every((queue) => mx.queued(queue).length === 0), 'an empty queue');
  assert.deepEqual(peer.received, []);
  assert.equal(mx.run('postqueue', ['-p']).stdout, 'Mail queue is empty\n');
  assert.doesNotMatch(mx.logText(), /status=(sent|bounced|deferred)/);
  assert.doesNotMatch(mx.logText(), /non-delivery notification/);
});
