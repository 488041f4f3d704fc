/*
 * smtp_bind_address: the SMTP client's connections come from the address
 * it names (127.0.0.2 here, which the peer on 127.0.0.1 sees); an address
 * this host does not have (192.0.2.1, TEST-NET-1) is logged and the mail
 * sent from any address, unless smtp_bind_address_enforce defers it.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, TestInstance } from '../support/instance.js';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp-peer.js';
import { waitFor } from '../support/wait.js';

let mx: TestInstance;
let peer: SmtpPeer;

before(async () => {
  const peerPort = await freePort();
  peer = await startSmtpPeer('127.0.0.1', peerPort, { startTls: false });
  mx = await TestInstance.create('', 'postmaster: root\n', {
    transport_maps: `inline:{ bound.test=smtp:[127.0.0.1]:${peerPort}, loose.test=loose:[127.0.0.1]:${peerPort}, strict.test=strict:[127.0.0.1]:${peerPort} }`,
    smtp_bind_address: '127.0.0.2',
  });
  appendFileSync(
    join(mx.etc, 'master.cf'),
    ['smtp unix - - n - - smtp', 'loose unix - - n - - smtp -o smtp_bind_address=192.0.2.1', 'strict unix - - n - - smtp -o smtp_bind_address=192.0.2.1 -o smtp_bind_address_enforce=yes', ''].join('\n'),
  );
  mx.start();
});

after(async () => {
  mx.remove();
  await peer.close();
});

const receivedFor = (recipient: string) => peer.received.filter((m) => m.to.includes(recipient));

test('connections come from smtp_bind_address', async () => {
  await mx.submit('alice@localhost', ['one@bound.test'], 'Subject: bound\n\nfrom 127.0.0.2\n');
  await waitFor(() => receivedFor('one@bound.test').length === 1, 'the message at the peer');
  assert.equal(receivedFor('one@bound.test')[0]?.clientAddress, '127.0.0.2');
});

test('an address this host lacks: a warning, and the mail goes from any address', async () => {
  await mx.submit('alice@localhost', ['two@loose.test'], 'Subject: loose\n\nfrom anywhere\n');
  await waitFor(() => receivedFor('two@loose.test').length === 1, 'the message at the peer');
  assert.match(mx.logText(), /warning: smtp_bind_address: cannot connect from 192\.0\.2\.1: .*; connecting from any address/);
});

test('with smtp_bind_address_enforce the delivery is deferred instead', async () => {
  await mx.submit('alice@localhost', ['three@strict.test'], 'Subject: strict\n\nnot from anywhere\n');
  await mx.waitForLog(/to=<three@strict\.test>, .*status=deferred \(cannot connect from 192\.0\.2\.1: /);
  assert.equal(receivedFor('three@strict.test').length, 0);
});
